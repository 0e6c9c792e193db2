// The worker CLI:
//   tsx worker-node/main.ts [--queues high,default] [--concurrency N] [--tasks path]
//     [--burst] [--isolation process|inline] [--horse-max-jobs K] [--name NAME]
// Redis comes from REDIS_URL. SIGTERM/SIGINT once: warm shutdown; twice: cold.
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { queueNameSchema } from "../shared/index.ts";
import { Worker } from "./worker.ts";

const DEMO_TASKS = fileURLToPath(new URL("./demo-tasks.ts", import.meta.url));

function usage(message: string): never {
  console.error(`edgeq worker: ${message}
usage: tsx worker-node/main.ts [--queues high,default] [--concurrency N] [--tasks path]
       [--burst] [--isolation process|inline] [--horse-max-jobs K] [--name NAME]`);
  process.exit(2);
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) usage(`${name} must be a whole number ≥ 1, got "${text}"`);
  return value;
}

function envMs(name: string, fallback: number): number {
  return positiveInt(name, process.env[name], fallback);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      queues: { type: "string", default: "default" },
      concurrency: { type: "string" },
      tasks: { type: "string" },
      burst: { type: "boolean", default: false },
      isolation: { type: "string", default: "process" },
      "horse-max-jobs": { type: "string" },
      name: { type: "string" },
    },
    strict: true,
  }).values;
} catch (error) {
  usage((error as Error).message);
}

const queues = parsed.queues!.split(",").map((q) => q.trim()).filter(Boolean);
for (const queue of queues) {
  if (!queueNameSchema.safeParse(queue).success) usage(`invalid queue name "${queue}"`);
}
if (queues.length === 0) usage("--queues names no queue");
if (parsed.isolation !== "process" && parsed.isolation !== "inline") {
  usage(`--isolation must be "process" or "inline", got "${parsed.isolation}"`);
}

const logger = pino({ level: process.env.LOG_LEVEL ?? "info" });
const worker = new Worker({
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  prefix: process.env.EDGEQ_PREFIX ?? "edgeq",
  queues,
  tasks: parsed.tasks ? resolve(parsed.tasks) : DEMO_TASKS,
  concurrency: positiveInt("--concurrency", parsed.concurrency, 1),
  isolation: parsed.isolation,
  horseMaxJobs: positiveInt("--horse-max-jobs", parsed["horse-max-jobs"], 1),
  burst: parsed.burst,
  name: parsed.name,
  logger,
  leaseMs: envMs("EDGEQ_LEASE_MS", 30_000),
  heartbeatMs: envMs("EDGEQ_HEARTBEAT_MS", 60_000),
  maintenanceMs: envMs("EDGEQ_MAINTENANCE_MS", 60_000),
  killGraceMs: envMs("EDGEQ_KILL_GRACE_MS", 5_000),
});

process.on("SIGTERM", () => worker.stop());
process.on("SIGINT", () => worker.stop());

try {
  await worker.run();
  process.exit(0);
} catch (error) {
  logger.fatal({ err: error }, "worker failed to start");
  process.exit(1);
}
