// The edge's view of one deployment's Redis: a Queue per name, job look-ups
// by id alone, and queue summaries. Routes get it from the context.
import {
  DEFAULTS,
  Keys,
  Queue,
  describeQueues,
  getJob,
  type JobView,
  type QueueInfo,
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

  /** Every known queue, or the named ones (zero counts when never used). */
  describe(names?: string[]): Promise<QueueInfo[]> {
    return describeQueues(this.#redis, this.keys, names);
  }
}
