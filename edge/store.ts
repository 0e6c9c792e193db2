// The edge's view of one deployment's Redis: a Queue per name, job look-ups
// by id alone, and queue summaries. Routes get it from the context.
import {
  DEFAULTS,
  Keys,
  Queue,
  Schedules,
  describeQueues,
  getJob,
  waitForJob,
  type JobStatus,
  type JobView,
  type QueuesPage,
  type RedisClient,
} from "../shared/index.ts";
import { followQueueEvents, readQueueEvents, type FollowOptions, type QueueEventItem } from "../shared/queue-events.ts";
import { scriptRunner, subscriber, type Subscription } from "../shared/redis.ts";
import type { ScriptRunner } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import { declaredTasks } from "../shared/tasks.ts";
import type { RateLimit } from "./config.ts";
import { TaskCatalog } from "./tasks.ts";

export class Store {
  readonly keys: Keys;
  readonly #redis: RedisClient;
  readonly #runner: ScriptRunner;
  readonly #prefix: string;
  readonly #tasks: TaskCatalog;

  constructor(redis: RedisClient, prefix: string = DEFAULTS.prefix) {
    this.#redis = redis;
    this.#runner = scriptRunner(redis);
    this.#prefix = prefix;
    this.keys = Keys.forPrefix(prefix);
    this.#tasks = new TaskCatalog(async (queue) => (await declaredTasks(redis, this.keys, [queue]))[0]!);
  }

  /** Refuses (422) jobs no worker of the queue would run: see edge/tasks.ts. */
  checkTasks(queue: string, jobs: { task: string; args?: unknown }[], root: (i: number) => string): Promise<void> {
    return this.#tasks.check(queue, jobs, root);
  }

  queue(name: string): Queue {
    return new Queue(name, { redis: this.#redis, prefix: this.#prefix });
  }

  schedules(): Schedules {
    return new Schedules({ redis: this.#redis, prefix: this.#prefix });
  }

  getJob(id: string): Promise<JobView | null> {
    return getJob(this.#redis, this.keys, id);
  }

  /** Waits for a job to end (see waitForJob): three Redis commands when it ends during the wait. */
  waitForJob(id: string, options: Parameters<typeof waitForJob>[3]): Promise<JobView> {
    return waitForJob(this.#redis, this.keys, id, options);
  }

  /** Follows a job's channel: its status changes (bare names) and progress (JSON). */
  followJob(id: string, onMessage: (message: string) => void): Subscription {
    return subscriber(this.#redis)(this.keys.events(id), onMessage);
  }

  /** A queue's events after `options.after` (see shared/queue-events.ts), within a budget of reads. */
  followQueueEvents(queue: string, options: FollowOptions): AsyncGenerator<QueueEventItem> {
    return followQueueEvents(this.#redis, this.keys, queue, options);
  }

  /** Where a queue's event stream ends now: the id to follow it from. */
  async queueEventsEnd(queue: string): Promise<string> {
    return (await readQueueEvents(this.#redis, this.keys, queue, "")).last;
  }

  /** The named queues (zero counts when never used), or a page of every queue in use; with counters if asked. */
  describe(
    which: { queues: string[] } | { cursor?: string; limit?: number },
    options: { stats?: boolean } = {},
  ): Promise<QueuesPage> {
    return describeQueues(this.#redis, this.keys, which, options);
  }

  /**
   * A page of the queues a key may see: its own, by name in name order (`queues`), or every queue in use (null).
   * The cursor is the last name of the page before.
   */
  describeVisible(
    queues: ReadonlySet<string> | null,
    page: { cursor?: string; limit: number },
    options: { stats?: boolean } = {},
  ): Promise<QueuesPage> {
    if (!queues) return this.describe(page, options);
    const names = [...queues].sort().filter((q) => !page.cursor || q > page.cursor);
    const named = names.slice(0, page.limit);
    return this.describe({ queues: named }, options).then((described) => ({
      ...described,
      nextCursor: names.length > named.length ? named.at(-1)! : null,
    }));
  }

  /** Whether the webhook intake accepted the delivery of this job id within its replay window, and the job's status. */
  seenDelivery(id: string): Promise<{ seen: boolean; status: JobStatus | null }> {
    return scripts.seenDelivery.run(this.#runner, this.keys, { id });
  }

  rememberDelivery(id: string, windowSec: number, now: number = Date.now()): Promise<void> {
    return scripts.rememberDelivery.run(this.#runner, this.keys, { id, windowSec, now });
  }

  /** Counts one request of the key `id` against its limit. */
  countRequest(id: string, limit: RateLimit, now: number): Promise<scripts.RequestCount> {
    return scripts.countRequest.run(this.#runner, this.keys, {
      now,
      key: id,
      requests: limit.requests,
      windowMs: limit.perSec * 1000,
    });
  }
}
