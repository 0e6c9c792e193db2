// Horses kept ready, so that a job never waits for Node to boot: a spare per
// slot, started ahead of time, and horses that serve several jobs each with
// --horse-max-jobs. The same for both kinds of horse, processes and threads.
import { availableParallelism } from "node:os";
import type { Logger } from "pino";
import type { Horse } from "./horse.ts";

/**
 * Ready horses for `size` slots (the worker's concurrency). A horse serves up
 * to `maxJobs` jobs before it is retired. Each slot has a fresh spare booted
 * ahead, started when the slot's current horse took its first job, so a
 * successor has its predecessor's whole life to boot, not just its last job.
 * A horse that serves one job lives about as long as a job waits for the
 * next, so one spare a slot would have each job wait out most of a boot:
 * then as many spares boot at once as the machine has cores (at least one
 * a slot), and the next job finds one ready.
 */
export class HorsePool {
  /** Horses that have served and will serve again, most recently used first. */
  #idle: Horse[] = [];
  /** Fresh horses, booting or ready, that take over from horses that retire. */
  #spares: Horse[] = [];
  #closed = false;
  /** How many fresh horses are kept booting or ready. */
  readonly #spareCount: number;

  constructor(
    /** Starts a horse of the worker's kind. */
    readonly spawn: () => Horse,
    readonly size: number,
    readonly maxJobs: number,
    readonly logger: Logger,
  ) {
    this.#spareCount = maxJobs === 1 ? Math.max(size, availableParallelism()) : size;
  }

  fill(): void {
    while (!this.#closed && this.#spares.length < this.#spareCount) this.#spares.push(this.spawn());
  }

  async take(): Promise<Horse> {
    for (let tries = 1; ; tries++) {
      const horse = this.#next();
      // starting a horse blocks the event loop for milliseconds: start the
      // successor once this job is on its way to the horse, not before
      if (this.#spares.length < this.#spareCount) setImmediate(() => this.fill());
      try {
        await horse.ready;
        return horse;
      } catch (error) {
        this.logger.error({ err: error }, "a horse died while booting");
        if (tries >= 3) throw error;
      }
    }
  }

  /**
   * A horse in service first: a spare stays spare until a horse retires.
   * Never one seen to have ended, or to retire (an error escaped its last
   * task while it waited here).
   */
  #next(): Horse {
    for (;;) {
      const horse = this.#idle.shift() ?? this.#spares.shift() ?? this.spawn();
      if (horse.available) return horse;
      horse.retire();
    }
  }

  release(horse: Horse): void {
    const usable = !this.#closed && horse.available && horse.served < this.maxJobs;
    // one that has not served yet (it proved the task module loads) is still a spare
    const shelf = horse.served === 0 ? this.#spares : this.#idle;
    if (usable && shelf.length < (horse.served === 0 ? this.#spareCount : this.size)) shelf.unshift(horse);
    else horse.retire();
  }

  close(): void {
    this.#closed = true;
    for (const horse of [...this.#idle.splice(0), ...this.#spares.splice(0)]) horse.retire();
  }
}
