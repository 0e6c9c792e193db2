// The edge's view of one deployment's Redis: a Queue per name, job look-ups
// by id alone, and queue summaries. Routes get it from the context.
import {
  DEFAULTS,
  Keys,
  Queue,
  describeQueues,
  getJob,
  type JobView,
  type QueuesPage,
  type RedisClient,
} from "../shared/index.ts";

export class Store {
  readonly keys: Keys;
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix: string = DEFAULTS.prefix) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.keys = Keys.forPrefix(prefix);
  }

  queue(name: string): Queue {
    return new Queue(name, { redis: this.#redis, prefix: this.#prefix });
  }

  getJob(id: string): Promise<JobView | null> {
    return getJob(this.#redis, this.keys, id);
  }

  /** The named queues (zero counts when never used), or a page of every queue in use; with counters if asked. */
  describe(
    which: { queues: string[] } | { cursor?: string; limit?: number },
    options: { stats?: boolean } = {},
  ): Promise<QueuesPage> {
    return describeQueues(this.#redis, this.keys, which, options);
  }
}
