// Processing no-op jobs, edgeq's isolations beside their natural
// yardsticks: fork-per-job beside the bare child-process ceiling, inline
// beside BullMQ's in-process worker, horse reuse beside BullMQ's sandboxed
// processor, threads beside BullMQ's sandboxed processor in worker threads.
import { availableParallelism } from "node:os";
import { Redis } from "ioredis";
import { Keys, Queue, type JobRequest } from "../../shared/index.ts";
import { bullmqProcessContender } from "./bullmq.ts";
import { forkCeiling } from "./ceilings.ts";
import { PREFIX, type Context } from "./context.ts";
import type { Contender, Plan } from "./measure.ts";
import { spanOf, throughputContender, type Backend } from "./throughput.ts";
import { README_TASKS } from "./workers.ts";

export const CONCURRENCIES = [1, 2, 8] as const;
const CHUNK = 100;

/** edgeq's side: Queue.enqueueMany in batches, the registries, the job hashes. */
export function edgeqBackend(queueName: string) {
  return (ctx: Context): Backend => {
    const client = new Redis(ctx.redis.url);
    const queue = new Queue(queueName, { redis: client, prefix: PREFIX });
    const keys = Keys.forPrefix(PREFIX);
    const { admin } = ctx.redis;
    return {
      async enqueue(n) {
        const ids: string[] = [];
        for (let i = 0; i < n; i += CHUNK) {
          const batch: JobRequest[] = Array.from({ length: Math.min(CHUNK, n - i) }, () => ({
            task: "noop",
            args: {},
          }));
          ids.push(...(await queue.enqueueMany(batch)).map((job) => job.id));
        }
        return ids;
      },
      async outcomes() {
        const [[, done], [, failed]] = (await admin
          .pipeline()
          .zcard(keys.registry("finished", queueName))
          .zcard(keys.registry("failed", queueName))
          .exec()) as [[null, number], [null, number]];
        return { done, failed };
      },
      span: (ids) => spanOf(admin, ids, (id) => keys.job(id), "startedAt", "endedAt"),
      close: async () => void client.disconnect(),
    };
  };
}

const EDGEQ_MODES = {
  fork: {
    label: "fork-per-job (a task module as the README writes it)",
    isolation: "process",
    horseMaxJobs: 1,
    warmup: (c: number) => c + 2,
    tasks: README_TASKS,
  },
  reuse: { label: "horse reuse (--horse-max-jobs 1000)", isolation: "process", horseMaxJobs: 1000, warmup: () => 300 },
  thread: {
    label: "threads (--isolation thread --horse-max-jobs 1000)",
    isolation: "thread",
    horseMaxJobs: 1000,
    warmup: () => 300,
  },
  inline: { label: "inline", isolation: "inline", horseMaxJobs: 1, warmup: () => 300 },
} as const;

export function edgeqProcessContender(ctx: Context, mode: keyof typeof EDGEQ_MODES, concurrency: number): Contender {
  const m = EDGEQ_MODES[mode];
  const queue = `${mode}-c${concurrency}`;
  return throughputContender(ctx, {
    id: `process.${mode}.c${concurrency}`,
    scenario: "3. Process no-op jobs",
    case: `edgeq ${m.label}, c=${concurrency}`,
    worker: {
      system: "edgeq",
      queue,
      concurrency,
      isolation: m.isolation,
      horseMaxJobs: m.horseMaxJobs,
      tasks: "tasks" in m ? m.tasks : undefined,
    },
    backend: edgeqBackend(queue),
    warmupJobs: m.warmup(concurrency),
    // every horse serves out its jobs and is replaced at least once per round; one job a horse: the spares booted
    // while the worker was frozen are a twentieth of a round at most, so the figure is the pace of boots
    minJobs: mode === "fork" ? 20 * Math.max(concurrency, availableParallelism()) : m.horseMaxJobs * concurrency,
  });
}

export function processPlan(ctx: Context): Plan {
  const groups: Contender[][] = [];
  for (const c of CONCURRENCIES) {
    groups.push([edgeqProcessContender(ctx, "fork", c), forkCeiling(ctx, "ipc", c), forkCeiling(ctx, "exit", c)]);
  }
  for (const c of CONCURRENCIES) {
    groups.push([edgeqProcessContender(ctx, "inline", c), bullmqProcessContender(ctx, "inproc", c)]);
  }
  for (const c of CONCURRENCIES) {
    groups.push([edgeqProcessContender(ctx, "reuse", c), bullmqProcessContender(ctx, "sandboxed", c)]);
  }
  for (const c of CONCURRENCIES) {
    groups.push([edgeqProcessContender(ctx, "thread", c), bullmqProcessContender(ctx, "threads", c)]);
  }
  return { groups };
}
