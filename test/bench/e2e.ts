// End to end: one job at a time, enqueued over TCP to an idle worker, timed
// until the producer can read its result. Two observers watch the same job:
//   - Queue.waitFor with the tightest poll it allows (every ~1 ms): what a
//     producer using the public API sees, poll interval included;
//   - a keyspace-notification listener that re-reads the job whenever its
//     hash changes: when the result became readable, give or take one round
//     trip, without the poll interval.
// Between jobs the worker is left alone long enough to be idle again (for
// fork-per-job: its spare horse has booted).
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { Keys, Queue, isTerminal } from "../../shared/index.ts";
import type { Child } from "./children.ts";
import { PREFIX, type Context } from "./context.ts";
import { percentile, type Contender, type Plan } from "./measure.ts";
import { sleep } from "./util.ts";
import { startWorker, type WorkerSpec } from "./workers.ts";

const MODES = {
  inline: { label: "inline", isolation: "inline", gapMs: 20 },
  fork: { label: "fork-per-job", isolation: "process", gapMs: 300 },
} as const;

export function e2ePlan(ctx: Context): Plan {
  return { groups: [[e2eContender(ctx, "inline")], [e2eContender(ctx, "fork")]] };
}

function e2eContender(ctx: Context, mode: keyof typeof MODES): Contender {
  const m = MODES[mode];
  const queueName = `e2e-${mode}`;
  const spec: WorkerSpec = {
    system: "edgeq",
    queue: queueName,
    concurrency: 1,
    isolation: m.isolation,
    horseMaxJobs: 1,
  };
  const jobs = mode === "inline" ? ctx.profile.e2eInlineJobs : ctx.profile.e2eForkJobs;
  let worker: Child | undefined;
  let client: Redis | undefined;
  let watcher: ResultWatcher | undefined;
  let keyspaceEvents = "";
  return {
    id: `e2e.${mode}`,
    scenario: "4. End to end",
    case: `edgeq ${m.label}, c=1, enqueue over TCP → result readable`,
    note: `${jobs} jobs per round, one at a time, ${m.gapMs} ms apart`,
    async start() {
      const { admin } = ctx.redis;
      keyspaceEvents = ((await admin.config("GET", "notify-keyspace-events")) as string[])[1] ?? "";
      // K: keyspace channels, h: hash commands (the job hash changes on every transition)
      await admin.config("SET", "notify-keyspace-events", "Kh");
      client = new Redis(ctx.redis.url);
      const queue = new Queue(queueName, { redis: client, prefix: PREFIX });
      watcher = await ResultWatcher.start(ctx.redis.url, queue);
      worker = await startWorker(ctx.redis, spec, `e2e-${mode}`);
    },
    pause: () => worker?.pause(),
    async stop() {
      await worker?.stop();
      watcher?.close();
      client?.disconnect();
      await ctx.redis.admin.config("SET", "notify-keyspace-events", keyspaceEvents);
    },
    async round(kind) {
      worker!.resume();
      const polled: number[] = [];
      const pushed: number[] = [];
      const count = kind === "warmup" ? Math.min(jobs, 5) : jobs;
      for (let i = 0; i < count; i++) {
        await sleep(m.gapMs);
        const id = `e2e-${randomBytes(8).toString("hex")}`;
        const readable = watcher!.expect(id);
        const t0 = performance.now();
        await watcher!.queue.enqueue("noop", {}, { id });
        const [seenByPoll, seenByEvent] = await Promise.all([
          watcher!.queue.waitFor(id, { pollMs: 1, maxPollMs: 1, timeoutMs: 30_000 }).then((job) => {
            if (!isTerminal(job.status)) throw new Error(`job ${id} still ${job.status} after 30 s`);
            return performance.now();
          }),
          readable,
        ]);
        polled.push(seenByPoll - t0);
        pushed.push(seenByEvent - t0);
      }
      return {
        "p50 ms (waitFor)": percentile(polled, 50),
        "p99 ms (waitFor)": percentile(polled, 99),
        "p50 ms (readable)": percentile(pushed, 50),
        "p99 ms (readable)": percentile(pushed, 99),
      };
    },
  };
}

/** Resolves when a job's result is readable, re-reading it on every change of its hash. */
class ResultWatcher {
  #current: { id: string; resolve: (at: number) => void; reading: boolean; again: boolean } | undefined;

  private constructor(
    readonly queue: Queue,
    readonly subscriber: Redis,
  ) {}

  static async start(url: string, queue: Queue): Promise<ResultWatcher> {
    const subscriber = new Redis(url);
    const watcher = new ResultWatcher(queue, subscriber);
    const prefix = `__keyspace@0__:${Keys.forPrefix(PREFIX).job("")}`;
    subscriber.on("pmessage", (_pattern: string, channel: string) => watcher.#changed(channel.slice(prefix.length)));
    await subscriber.psubscribe(`${prefix}*`);
    return watcher;
  }

  expect(id: string): Promise<number> {
    return new Promise((resolve) => (this.#current = { id, resolve, reading: false, again: false }));
  }

  async #changed(id: string): Promise<void> {
    const current = this.#current;
    if (!current || current.id !== id) return;
    if (current.reading) {
      current.again = true;
      return;
    }
    current.reading = true;
    do {
      current.again = false;
      const job = await this.queue.getJob(id);
      if (job && isTerminal(job.status)) {
        this.#current = undefined;
        current.resolve(performance.now());
        return;
      }
    } while (current.again);
    current.reading = false;
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
