// Starting a worker under test: edgeq's CLI exactly as a user runs it, or a
// BullMQ worker in a host process of the same shape. Both run in their own
// process, away from the bench's event loop, and count as ready once one of
// their connections is blocked in Redis waiting for work: startup (tsx,
// compiling the horse, booting the first horse) is over by then.
import { fileURLToPath } from "node:url";
import { Child, tsArgs } from "./children.ts";
import type { BenchRedis } from "./context.ts";
import { PREFIX } from "./context.ts";
import { sleep } from "./util.ts";

const TASKS = fileURLToPath(new URL("./fixtures/tasks.ts", import.meta.url));
/** The no-op task in a module written as the README shows, for the cases that boot a horse a job. */
export const README_TASKS = fileURLToPath(new URL("./fixtures/readme-tasks.ts", import.meta.url));
const BULLMQ_HOST = fileURLToPath(new URL("./hosts/bullmq-worker.ts", import.meta.url));
export const BULLMQ_PROCESSOR = fileURLToPath(new URL("./fixtures/bullmq-noop.mjs", import.meta.url));

export type WorkerSpec =
  | {
      system: "edgeq";
      queue: string;
      concurrency: number;
      isolation: "process" | "thread" | "inline";
      horseMaxJobs: number;
      /** The task module; the bench's bare one unless given. */
      tasks?: string;
    }
  | { system: "bullmq"; queue: string; concurrency: number; sandboxed: boolean; workerThreads?: boolean };

export async function startWorker(redis: BenchRedis, spec: WorkerSpec, label: string): Promise<Child> {
  const before = new Set((await clients(redis)).map((c) => c.id));
  const child =
    spec.system === "edgeq"
      ? new Child(
          label,
          tsArgs("worker-node/main.ts", [
            "--queues",
            spec.queue,
            "--tasks",
            spec.tasks ?? TASKS,
            "--concurrency",
            String(spec.concurrency),
            "--isolation",
            spec.isolation,
            "--horse-max-jobs",
            String(spec.horseMaxJobs),
            "--name",
            `bench-${spec.queue}`,
          ]),
          { env: { REDIS_URL: redis.url, EDGEQ_PREFIX: PREFIX, LOG_LEVEL: "warn" } },
        )
      : new Child(label, tsArgs(BULLMQ_HOST), {
          env: {
            REDIS_URL: redis.url,
            BULLMQ_QUEUE: spec.queue,
            BULLMQ_CONCURRENCY: String(spec.concurrency),
            ...(spec.sandboxed ? { BULLMQ_PROCESSOR } : {}),
            ...(spec.workerThreads ? { BULLMQ_WORKER_THREADS: "1" } : {}),
          },
        });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!child.running) throw new Error(`${label} exited during startup:\n${child.tail}`);
    if ((await clients(redis)).some((c) => !before.has(c.id) && c.flags.includes("b"))) break;
    if (Date.now() > deadline) throw new Error(`${label} was not waiting for work after 60 s:\n${child.tail}`);
    await sleep(20);
  }
  // spare horses (or BullMQ's first connections) may still be settling
  await sleep(300);
  return child;
}

async function clients(redis: BenchRedis): Promise<{ id: string; flags: string }[]> {
  const list = (await redis.admin.client("LIST")) as string;
  return list
    .split("\n")
    .filter(Boolean)
    .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1] ?? "", flags: /\bflags=(\S+)/.exec(line)?.[1] ?? "" }));
}
