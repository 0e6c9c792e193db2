// A BullMQ worker in its own process, the counterpart of `worker-node/main.ts`:
// a no-op processor in-process, or (BULLMQ_PROCESSOR set) a processor file that
// BullMQ runs in child processes it keeps and reuses, or in worker threads
// (BULLMQ_WORKER_THREADS=1).
import { Worker } from "bullmq";
import { closeOnExit } from "./host.ts";

const url = new URL(process.env.REDIS_URL!);
const processorFile = process.env.BULLMQ_PROCESSOR;
const worker = new Worker(process.env.BULLMQ_QUEUE!, processorFile ?? (async () => null), {
  connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
  concurrency: Number(process.env.BULLMQ_CONCURRENCY ?? 1),
  useWorkerThreads: process.env.BULLMQ_WORKER_THREADS === "1",
  // Children and threads inherit this host's execArgv, which loads tsx; BullMQ
  // users run plain JavaScript, and edgeq's horses boot without a loader too.
  workerForkOptions: { execArgv: [] },
  workerThreadsOptions: { execArgv: [] },
});
worker.on("error", (error) => console.error(`bullmq worker: ${error.message}`));
worker.on("failed", (job, error) => console.error(`bullmq job ${job?.id} failed: ${error.message}`));
closeOnExit(() => worker.close());
