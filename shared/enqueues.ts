// How a Queue's enqueue calls reach Redis: those made in the same moment go
// together in one script call (Queue.submit validates them first).
import { DEFAULTS } from "./defaults.ts";
import type { NewJob } from "./job.ts";
import type { Keys } from "./keys.ts";
import { acknowledged, replicationOf, type ReplicaWait } from "./replicas.ts";
import type { ScriptRunner } from "./script.ts";
import * as scripts from "./scripts/index.ts";
import type { EnqueueReply } from "./scripts/index.ts";

/** What a producer may ask of its enqueues (QueueOptions). */
export interface Durability {
  /**
   * Over TCP to one Redis: acknowledge an enqueue only once WAIT says this many replicas have it, else throw
   * ReplicasBehindError. Over REST the gateway's EDGEQ_WAIT_REPLICAS does it.
   */
  waitReplicas?: ReplicaWait;
}

/**
 * Enqueue calls made in the same moment (before the event loop moves on) go
 * to Redis in one script call, each still all or none on its own and taken
 * in the order made, as if sent one by one: a producer with several in
 * flight pays one round trip, and Redis one script run, for all of them.
 * With no call in flight they go as two, so that Redis runs one while the
 * producer takes the answer of the other (one call for all would have each
 * wait for the other). The batches of one script call hold a bounded number
 * of jobs together; a larger batch goes alone.
 */
export class Enqueues {
  #waiting: EnqueueCall[] = [];
  #inFlight = 0;

  constructor(
    readonly redis: ScriptRunner,
    readonly keys: Keys,
    /** When set, an enqueue is acknowledged once this many replicas have it (shared/replicas.ts). */
    readonly waitReplicas?: ReplicaWait,
  ) {
    // refused at once, not at the first enqueue
    if (waitReplicas) replicationOf(redis);
  }

  add(batch: EnqueueBatch): Promise<EnqueueReply> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) queueMicrotask(() => this.#send());
      this.#waiting.push({ batch, resolve, reject });
    });
  }

  #send(): void {
    const half = this.#inFlight === 0 && this.#waiting.length > 1 ? Math.ceil(this.#waiting.length / 2) : Infinity;
    while (this.#waiting.length > 0) {
      let taken = 1;
      for (let jobs = this.#waiting[0]!.batch.jobs.length; taken < Math.min(half, this.#waiting.length); taken++) {
        jobs += this.#waiting[taken]!.batch.jobs.length;
        if (jobs > DEFAULTS.scriptBatch) break;
      }
      void this.#call(this.#waiting.splice(0, taken));
    }
  }

  async #call(calls: EnqueueCall[]): Promise<void> {
    this.#inFlight++;
    let replies: EnqueueReply[];
    try {
      const batches = calls.map((call) => call.batch);
      replies = await acknowledged(this.redis, this.waitReplicas, () =>
        scripts.enqueue.run(this.redis, this.keys, { calls: batches }),
      );
    } catch (error) {
      for (const call of calls) call.reject(error);
      return;
    } finally {
      this.#inFlight--;
    }
    for (const [i, call] of calls.entries()) call.resolve(replies[i]!);
  }
}

type EnqueueBatch = { now: number; jobs: NewJob[] };
type EnqueueCall = { batch: EnqueueBatch; resolve: (reply: EnqueueReply) => void; reject: (error: unknown) => void };
