// BullMQ, the yardstick, on the same Redis in the same run: Queue.add and
// addBulk against edgeq's enqueue, and a Worker with a no-op processor
// in-process and sandboxed (a processor file that BullMQ runs in child
// processes, or worker threads, it keeps and reuses) against edgeq's worker.
// Connections are given as options with `maxRetriesPerRequest: null`, as
// BullMQ's docs ask.
import { Queue } from "bullmq";
import type { Context } from "./context.ts";
import { BATCH, type Enqueuer } from "./enqueuer.ts";
import type { Contender } from "./measure.ts";
import { spanOf, throughputContender, type Backend } from "./throughput.ts";
import { once } from "./util.ts";

function connection(ctx: Context) {
  return { host: ctx.redis.host, port: ctx.redis.port, maxRetriesPerRequest: null };
}

const noopJobs = (n: number) => Array.from({ length: n }, () => ({ name: "noop", data: {} }));

export function bullmqEnqueuer(ctx: Context): Enqueuer {
  let queue: Queue | undefined;
  const batch = noopJobs(BATCH);
  return {
    key: "add",
    scenario: "5. BullMQ",
    label: "BullMQ Queue.add",
    batchLabel: `BullMQ Queue.addBulk(${BATCH})`,
    start: once(async () => {
      queue = new Queue("bull-add", { connection: connection(ctx) });
      await queue.waitUntilReady();
    }),
    one: () => queue!.add("noop", {}),
    batch: () => queue!.addBulk(batch),
    close: async () => void (await queue?.close()),
  };
}

/** BullMQ's side of a processing round: addBulk, its completed/failed sets, processedOn/finishedOn. */
function bullmqBackend(queueName: string) {
  return (ctx: Context): Backend => {
    const queue = new Queue(queueName, { connection: connection(ctx) });
    const { admin } = ctx.redis;
    return {
      async enqueue(n) {
        const ids: string[] = [];
        for (let i = 0; i < n; i += BATCH) {
          ids.push(...(await queue.addBulk(noopJobs(Math.min(BATCH, n - i)))).map((job) => job.id!));
        }
        return ids;
      },
      async outcomes() {
        const [[, done], [, failed]] = (await admin
          .pipeline()
          .zcard(queue.toKey("completed"))
          .zcard(queue.toKey("failed"))
          .exec()) as [[null, number], [null, number]];
        return { done, failed };
      },
      span: (ids) => spanOf(admin, ids, (id) => queue.toKey(id), "processedOn", "finishedOn"),
      close: () => queue.close(),
    };
  };
}

interface Mode {
  label: string;
  sandboxed: boolean;
  workerThreads?: boolean;
}

const MODES = {
  inproc: { label: "in-process processor", sandboxed: false },
  sandboxed: { label: "sandboxed processor (child processes, useWorkerThreads: false)", sandboxed: true },
  threads: {
    label: "sandboxed processor (worker threads, useWorkerThreads: true)",
    sandboxed: true,
    workerThreads: true,
  },
} satisfies Record<string, Mode>;

export function bullmqProcessContender(ctx: Context, mode: keyof typeof MODES, concurrency: number): Contender {
  const queue = `bull-${mode}-c${concurrency}`;
  const { label, sandboxed, workerThreads }: Mode = MODES[mode];
  return throughputContender(ctx, {
    id: `bullmq.${mode}.c${concurrency}`,
    scenario: "5. BullMQ",
    case: `BullMQ Worker, ${label}, c=${concurrency}`,
    worker: { system: "bullmq", queue, concurrency, sandboxed, workerThreads },
    backend: bullmqBackend(queue),
    warmupJobs: 300,
  });
}
