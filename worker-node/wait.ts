// The worker's blocking wait: BLMPOP on its queues' wake lists (and the
// outbox's) on a connection of its own, with a claim queued behind the pop.
// Redis runs the claim as soon as the pop returns, so the jobs that woke the
// worker come back in the same round trip; an idle worker sends nothing else.
import type { Logger } from "pino";
import type { Keys } from "../shared/keys.ts";
import { execPipeline, type Call, type PipelineResult } from "../shared/script.ts";
import type { Step } from "../shared/scripts/index.ts";
import type { ScriptConnection } from "./connection.ts";
import type { Outbox } from "./outbox.ts";

/** How long a stopping worker waits for the reply of a claim that may have run behind its wait. */
const WAIT_REPLY_MS = 100;

export class BlockingWait {
  /** What the wait blocks on: the queues' wake lists, then the outbox's. */
  readonly #wakeKeys: string[];
  /** The wait in flight, with the claim behind it. */
  #waiting: Promise<unknown[]> | undefined;

  constructor(
    readonly blocker: ScriptConnection,
    readonly keys: Keys,
    queues: string[],
    readonly outbox: Outbox,
    readonly worker: { readonly accepting: boolean },
    readonly log: Logger,
  ) {
    this.#wakeKeys = [...queues.map((q) => keys.wake(q)), keys.outboxWake()];
  }

  get waiting(): boolean {
    return this.#waiting !== undefined;
  }

  /**
   * Blocks until a job may be waiting, a callback delivery was put in the
   * outbox (which it pokes), or `ms` have passed, and answers the step of
   * `claim`, sent behind the pop. Undefined: the claim failed, or the wait
   * did (after a pause, if the worker goes on); a plain claim is for the
   * caller to make.
   */
  async block(claim: Call<Step>, ms: number): Promise<Step | undefined> {
    try {
      const keys = this.#wakeKeys;
      const pop = this.blocker.connection
        .pipeline()
        .blmpop(Math.max(0.01, ms / 1000).toFixed(3), keys.length, ...keys, "LEFT");
      this.#waiting = execPipeline(pop, this.blocker.runner, [claim]);
      const [popped, claimed] = await this.#waiting;
      const [error, woken] = (popped ?? []) as Partial<PipelineResult>;
      if (error) throw error;
      if (Array.isArray(woken) && woken[0] === this.keys.outboxWake()) this.outbox.poke();
      if (!(claimed instanceof Error)) return claimed as Step | undefined;
      this.log.warn({ err: claimed.message }, "claim behind the wait failed");
    } catch (error) {
      if (this.worker.accepting) {
        this.log.warn({ err: (error as Error).message }, "blocking wait failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      this.#waiting = undefined;
    }
    return undefined;
  }

  /** Gives the reply of a claim that may have run behind the wait a moment to arrive. */
  async settle(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const pause = new Promise((resolve) => {
      timer = setTimeout(resolve, WAIT_REPLY_MS);
    });
    await Promise.race([this.#waiting, pause]).catch(() => {});
    clearTimeout(timer);
  }

  /** Cuts the connection: a wait in flight ends at once. */
  close(): void {
    this.blocker.connection.disconnect();
  }
}
