// The worker CLI, `edgeq worker` (in the repository, `tsx worker-node/main.ts`):
//   edgeq worker [--queues high,default] [--concurrency N] [--tasks path]
//     [--burst] [--isolation process|thread|inline] [--horse-max-jobs K]
//     [--horse-max-memory-mb N] [--horse-env NAME,…] [--name NAME]
// Redis and the rest of the settings come from the environment (config.ts).
// SIGTERM/SIGINT once: warm shutdown; twice: cold.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { DEFAULTS, queueNameSchema } from "../shared/index.ts";
import { envNames, orExit, readWorkerEnv, redisTarget, replicaWait } from "./config.ts";
import { siblingModule } from "./sibling.ts";
import { startCommandTracing } from "./tracing.ts";
import { Worker } from "./worker.ts";

const DEMO_TASKS = siblingModule(import.meta.url, "demo-tasks");

const USAGE = `usage: edgeq worker [--queues high,default] [--concurrency N] [--tasks path]
       [--burst] [--isolation process|thread|inline] [--horse-max-jobs K]
       [--horse-max-memory-mb N] [--horse-env NAME,…] [--name NAME]

Takes jobs from the queues, in the order given, and runs each in a child
process (a horse) until SIGTERM or SIGINT (once: finish running jobs; twice:
now). Redis and the other settings come from the environment: REDIS_URL
(default ${DEFAULTS.redisUrl}), REDIS_CLUSTER_NODES or REDIS_SENTINELS,
EDGEQ_WAIT_REPLICAS, EDGEQ_PREFIX, LOG_LEVEL, EDGEQ_CACHE_DIR, …; spans go
over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (README, "Tracing")

  --queues a,b          queues to listen on, in priority order (default: ${DEFAULTS.queues.join(",")})
  --tasks path          the task module, .ts or .js (default: the demo tasks)
  --concurrency N       jobs at once (default: ${DEFAULTS.concurrency})
  --isolation process   each job in a horse, a child process (the default);
              thread    in a worker thread: a cheaper hop, weaker walls (README);
              inline    in the worker itself: timeouts only ask the task to stop
  --horse-max-jobs K    jobs a horse serves before it is replaced (default: ${DEFAULTS.horseMaxJobs})
  --horse-max-memory-mb N
                        ceiling of a horse's JavaScript heap; past it the job fails
                        with HorseOutOfMemoryError (default: V8's own)
  --horse-env A,B       more of the worker's variables for horses (EDGEQ_HORSE_ENV too);
                        else they get only ${DEFAULTS.horseEnv.join(" ")}
  --burst               exit once the queues are empty
  --name NAME           the worker's name (default: host.pid.random)`;

function usage(message: string): never {
  console.error(`edgeq worker: ${message}\n${USAGE}`);
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
      "horse-max-memory-mb": { type: "string" },
      "horse-env": { type: "string" },
      name: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
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
if (parsed.help) {
  console.log(USAGE);
  process.exit(0);
}

const queues = parsed
  .queues!.split(",")
  .map((q) => q.trim())
  .filter(Boolean);
for (const queue of queues) {
  if (!queueNameSchema.safeParse(queue).success) usage(`invalid queue name "${queue}"`);
}
if (queues.length === 0) usage("--queues names no queue");
if (parsed.isolation !== "process" && parsed.isolation !== "thread" && parsed.isolation !== "inline") {
  usage(`--isolation must be "process", "thread" or "inline", got "${parsed.isolation}"`);
}
const isolation = parsed.isolation;
// a ceiling or an environment that would silently not apply is refused
for (const flag of ["horse-max-memory-mb", "horse-env"] as const) {
  if (isolation === "inline" && parsed[flag] !== undefined)
    usage(`--${flag} applies to horses; --isolation inline has none`);
}
const horseEnvFlag = envNames.safeParse(parsed["horse-env"] ?? "");
if (!horseEnvFlag.success) usage(`--horse-env ${horseEnvFlag.error.issues[0]!.message}`);

const env = orExit("edgeq worker", () => readWorkerEnv());
const tracing = startCommandTracing("edgeq worker", "edgeq-worker");
const logger = pino({ level: env.LOG_LEVEL });
const { url: redisUrl, clusterNodes, sentinel } = redisTarget(env);
// one Worker per deployment it serves (EDGEQ_PREFIX may name several, e.g. one per cluster shard)
const workers = env.EDGEQ_PREFIX.map(
  (prefix) =>
    new Worker({
      redisUrl,
      clusterNodes,
      sentinel,
      waitReplicas: replicaWait(env),
      prefix,
      queues,
      tasks: parsed.tasks ? resolve(parsed.tasks) : DEMO_TASKS,
      concurrency: positiveInt("--concurrency", parsed.concurrency),
      isolation,
      horseMaxJobs: positiveInt("--horse-max-jobs", parsed["horse-max-jobs"]),
      horseMaxMemoryMb: positiveInt("--horse-max-memory-mb", parsed["horse-max-memory-mb"]),
      horseEnv: [...env.EDGEQ_HORSE_ENV, ...horseEnvFlag.data],
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
    }),
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    for (const worker of workers) worker.stop();
  });
}

try {
  await Promise.all(workers.map((worker) => worker.run()));
  // the spans of the last jobs go out before the process does
  await tracing?.shutdown();
  process.exit(0);
} catch (error) {
  logger.fatal({ err: error }, "worker failed to start");
  process.exit(1);
}
