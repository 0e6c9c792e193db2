// The worker CLI:
//   tsx worker-node/main.ts [--queues high,default] [--concurrency N] [--tasks path]
//     [--burst] [--isolation process|inline] [--horse-max-jobs K] [--name NAME]
// Redis and the rest of the settings come from the environment (config.ts).
// SIGTERM/SIGINT once: warm shutdown; twice: cold.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pino from "pino";
import { DEFAULTS, queueNameSchema } from "../shared/index.ts";
import { orExit, readWorkerEnv } from "./config.ts";
import { Worker } from "./worker.ts";

const DEMO_TASKS = fileURLToPath(new URL("./demo-tasks.ts", import.meta.url));

function usage(message: string): never {
  console.error(`edgeq worker: ${message}
usage: tsx worker-node/main.ts [--queues high,default] [--concurrency N] [--tasks path]
       [--burst] [--isolation process|inline] [--horse-max-jobs K] [--name NAME]`);
  process.exit(2);
}

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) usage(`${name} must be a whole number ≥ 1, got "${text}"`);
  return value;
}

function parse() {
  return parseArgs({
    options: {
      queues: { type: "string", default: DEFAULTS.queues.join(",") },
      concurrency: { type: "string" },
      tasks: { type: "string" },
      burst: { type: "boolean", default: false },
      isolation: { type: "string", default: DEFAULTS.isolation },
      "horse-max-jobs": { type: "string" },
      name: { type: "string" },
    },
    strict: true,
  }).values;
}

let parsed: ReturnType<typeof parse>;
try {
  parsed = parse();
} catch (error) {
  usage((error as Error).message);
}

const queues = parsed
  .queues!.split(",")
  .map((q) => q.trim())
  .filter(Boolean);
for (const queue of queues) {
  if (!queueNameSchema.safeParse(queue).success) usage(`invalid queue name "${queue}"`);
}
if (queues.length === 0) usage("--queues names no queue");
if (parsed.isolation !== "process" && parsed.isolation !== "inline") {
  usage(`--isolation must be "process" or "inline", got "${parsed.isolation}"`);
}

const env = orExit("edgeq worker", () => readWorkerEnv());
const logger = pino({ level: env.LOG_LEVEL });
const worker = new Worker({
  redisUrl: env.REDIS_URL,
  prefix: env.EDGEQ_PREFIX,
  queues,
  tasks: parsed.tasks ? resolve(parsed.tasks) : DEMO_TASKS,
  concurrency: positiveInt("--concurrency", parsed.concurrency),
  isolation: parsed.isolation,
  horseMaxJobs: positiveInt("--horse-max-jobs", parsed["horse-max-jobs"]),
  burst: parsed.burst,
  name: parsed.name,
  logger,
  leaseMs: env.EDGEQ_LEASE_MS,
  heartbeatMs: env.EDGEQ_HEARTBEAT_MS,
  maintenanceMs: env.EDGEQ_MAINTENANCE_MS,
  killGraceMs: env.EDGEQ_KILL_GRACE_MS,
  callbacks: {
    secret: env.EDGEQ_CALLBACK_SECRET ?? null,
    allow: env.EDGEQ_CALLBACK_ALLOW,
    concurrency: env.EDGEQ_CALLBACK_CONCURRENCY,
    attempts: env.EDGEQ_CALLBACK_ATTEMPTS,
    leaseMs: env.EDGEQ_CALLBACK_LEASE_MS,
    timeoutMs: env.EDGEQ_CALLBACK_TIMEOUT_MS,
    backoffMs: env.EDGEQ_CALLBACK_BACKOFF_MS,
  },
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
