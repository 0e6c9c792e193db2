// The admin CLI, `edgeq admin` (in the repository, `tsx worker-node/cli/admin.ts`):
// look at queues and jobs, cancel and requeue, from a shell with TCP access to Redis.
//   edgeq admin queues
//   edgeq admin job <id>
//   edgeq admin cancel <id>
//   edgeq admin requeue <id>
import { Redis } from "ioredis";
import {
  DEFAULTS,
  describeQueues,
  EdgeqError,
  getJob,
  JobNotFoundError,
  Keys,
  Queue,
  STATUSES,
  type QueueInfo,
} from "../../shared/index.ts";
import { orExit, readRedisEnv } from "../config.ts";

const USAGE = `usage: edgeq admin <command>
  queues          counts per status and live workers, per queue
  job <id>        a job as JSON
  cancel <id>     cancel a waiting job, or ask its worker to stop a started one
  requeue <id>    put a failed, stopped or canceled job back in its queue
Redis comes from REDIS_URL (default ${DEFAULTS.redisUrl}), the key prefix from EDGEQ_PREFIX.`;

function table(queues: QueueInfo[]): string {
  const rows = [
    ["queue", ...STATUSES, "workers"],
    ...queues.map((q) => [q.name, ...STATUSES.map((s) => String(q.counts[s])), String(q.workers.length)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function run(redis: Redis, prefix: string, command: string | undefined, id: string | undefined): Promise<string> {
  const keys = Keys.forPrefix(prefix);
  // ids are global: find the job first, then act through its own queue
  const find = async (jobId: string) => {
    const job = await getJob(redis, keys, jobId);
    if (!job) throw new JobNotFoundError(jobId);
    return { job, queue: new Queue(job.queue, { redis, prefix }) };
  };
  const show = (value: unknown) => JSON.stringify(value, null, 2);
  if (command === "queues") return table((await describeQueues(redis, keys)).queues);
  if (command === "job" && id) return show((await find(id)).job);
  if (command === "cancel" && id) return show(await (await find(id)).queue.cancel(id));
  if (command === "requeue" && id) return show(await (await find(id)).queue.requeue(id));
  throw new UsageError();
}

class UsageError extends Error {}

const [command, id] = process.argv.slice(2);
if (command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE);
  process.exit(0);
}
const env = orExit("edgeq admin", () => readRedisEnv());
const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1 });
try {
  console.log(await run(redis, env.EDGEQ_PREFIX, command, id));
} catch (error) {
  if (error instanceof UsageError) console.error(USAGE);
  else console.error(`edgeq admin: ${error instanceof EdgeqError ? error.message : error}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
} finally {
  redis.disconnect();
}
