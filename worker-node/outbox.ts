// The worker's side of the callback outbox. Every script that ends a job with
// a callbackUrl puts a delivery in the outbox in the same call, whoever ran
// it (a worker, the edge, maintenance); any worker takes deliveries from it
// with a lease, as it takes jobs, delivers them (callback.ts) and records the
// outcome. Delivery is at least once, with the same webhook-id on every try.
import type { Logger } from "pino";
import type { Keys } from "../shared/keys.ts";
import type { ScriptRunner } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import { deliver, type CallbackOptions } from "./callback.ts";

export interface OutboxOptions extends CallbackOptions {
  /** Deliveries in flight at once. */
  concurrency: number;
  /** Attempts before a delivery is recorded as failed. */
  attempts: number;
  /** How long a taken delivery is this worker's before another may retry it. */
  leaseMs: number;
  /** The pause after a first failed attempt; each next one is four times longer, up to an hour. */
  backoffMs: number;
}

/** The pause before attempt `attempt + 1`: exponential, at most an hour, half of it random (equal jitter). */
export function backoffMs(first: number, attempt: number): number {
  const pause = Math.min(first * 4 ** (attempt - 1), 3_600_000);
  return Math.round(pause / 2 + (Math.random() * pause) / 2);
}

export class Outbox {
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /** The claim of deliveries under way, if one is. */
  #taking: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(
    readonly redis: ScriptRunner,
    readonly keys: Keys,
    readonly options: OutboxOptions,
    readonly log: Logger,
  ) {}

  /** Deliveries may be due: take what this worker has room for. */
  poke(): void {
    if (this.#closed) return;
    if (this.#taking) {
      this.#again = true;
      return;
    }
    this.#taking = this.#take().finally(() => {
      this.#taking = undefined;
    });
  }

  /** The earliest delivery falls due at `at`: look then, without polling before. */
  wakeAt(at: number | null): void {
    if (at === null || this.#closed || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timerAt = Infinity;
        this.poke();
      },
      Math.max(0, at - Date.now()),
    );
    this.#timer.unref();
  }

  /** Stops taking deliveries; waits (at most `timeoutMs`) for those in flight. Answers whether all ended. */
  async close(timeoutMs: number): Promise<boolean> {
    this.#closed = true;
    clearTimeout(this.#timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    // a claim under way may still add deliveries: wait for it, then for them
    const settled = (async () => {
      await this.#taking;
      await Promise.all(this.#inFlight);
      return true;
    })();
    const ended = await Promise.race([settled, deadline]);
    clearTimeout(timer);
    return ended;
  }

  async #take(): Promise<void> {
    try {
      do {
        this.#again = false;
        const room = this.options.concurrency - this.#inFlight.size;
        if (room <= 0 || this.#closed) break;
        const { deliveries, nextAt } = await scripts.claimDeliveries.run(this.redis, this.keys, {
          now: Date.now(),
          leaseMs: this.options.leaseMs,
          max: room,
        });
        for (const delivery of deliveries) {
          const done = this.#deliver(delivery).finally(() => {
            this.#inFlight.delete(done);
            // a slot is free: whatever else is due may go now
            this.poke();
          });
          this.#inFlight.add(done);
        }
        this.wakeAt(nextAt);
        if (deliveries.length === room) this.#again = true;
      } while (this.#again);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "could not take callback deliveries");
    }
  }

  async #deliver(delivery: scripts.Delivery): Promise<void> {
    const attempt = await deliver(delivery, this.options);
    let outcome: scripts.DeliveryOutcome;
    if (attempt.ok) outcome = { outcome: "delivered" };
    else if (attempt.refused) outcome = { outcome: "refused", error: attempt.error };
    else if (!attempt.retry || delivery.attempts >= this.options.attempts)
      outcome = { outcome: "failed", error: attempt.error };
    else
      outcome = {
        outcome: "retry",
        error: attempt.error,
        retryAt: Date.now() + backoffMs(this.options.backoffMs, delivery.attempts),
      };
    const level = attempt.ok ? "debug" : "warn";
    this.log[level](
      { jobId: delivery.jobId, delivery: delivery.id, attempt: delivery.attempts, ...outcome },
      "callback",
    );
    try {
      await scripts.settleDelivery.run(this.redis, this.keys, { id: delivery.id, ...outcome });
    } catch (error) {
      // its lease runs out and another worker delivers it again: at least once
      this.log.warn({ delivery: delivery.id, err: (error as Error).message }, "could not record a callback delivery");
    }
    if (outcome.outcome === "retry") this.wakeAt(outcome.retryAt);
  }
}
