// What each feature costs a job that does not use it: plain jobs (no
// priority, no schedule, no limit, no callback, no dependency, no progress)
// go through a real worker while MONITOR records every command Redis runs,
// those inside scripts included. Each command is charged to the feature its
// key belongs to, by the key's kind (shared/keys.ts), so a feature that a
// plain job pays for shows up as commands per job against its name. Then the
// same for jobs in groups (ten of them), whose extra commands are what a
// group costs. Run once per bench: it counts commands, which do not vary
// from round to round.
import { Redis } from "ioredis";
import { Keys, Queue, type JobOptions } from "../../shared/index.ts";
import { PREFIX, type Context } from "./context.ts";
import { summarize, type Row } from "./measure.ts";
import { progress, sleep } from "./util.ts";
import { startWorker } from "./workers.ts";

const JOBS = { quick: 500, full: 2_000 };
const QUEUE = "plain";

/** Every key kind (the segment after the prefix) and the feature it serves. */
const FEATURE_OF: Record<string, string> = {
  // a queue, its jobs and its workers: what every job needs
  queues: "core",
  waiting: "core",
  job: "core",
  leases: "core",
  wake: "core",
  events: "core",
  queued: "core",
  started: "core",
  finished: "core",
  failed: "core",
  canceled: "core",
  stopped: "core",
  scheduled: "core",
  deferred: "core",
  workers: "core",
  worker: "core",
  control: "core",
  lock: "core",
  "maintenance-cursor": "core",
  sequence: "priorities",
  settings: "pause, rate limits, fleet concurrency",
  rate: "pause, rate limits, fleet concurrency",
  stats: "metrics",
  minute: "metrics",
  attempts: "attempts kept per job",
  outbox: "callbacks",
  "outbox-age": "callbacks",
  "outbox-wake": "callbacks",
  delivery: "callbacks",
  schedules: "schedules",
  schedule: "schedules",
  "queue-schedules": "schedules",
  "schedules-changed": "schedules",
  deps: "dependencies",
  dependents: "dependencies",
  cascade: "dependencies",
  idempotency: "idempotency keys",
  tasks: "task declarations",
  "group-waiting": "groups",
  grouped: "groups",
  "groups-ready": "groups",
  "groups-listed": "groups",
  "groups-limited": "groups",
  "group-active": "groups",
  groups: "groups",
  "group-policies": "groups",
  "group-rate": "groups",
  debounce: "debounce, dedupe",
  dedupe: "debounce, dedupe",
  steps: "durable steps",
  "event-waiters": "durable steps",
  awaiting: "durable steps",
  "queue-events": "queue event stream",
};
/** Features a plain job does not use: the goal is that each costs it nothing. */
const UNUSED = [
  "priorities",
  "pause, rate limits, fleet concurrency",
  "callbacks",
  "schedules",
  "dependencies",
  "idempotency keys",
  "task declarations",
  "groups",
  "debounce, dedupe",
  "durable steps",
];

/** The feature a command run by Redis serves, from the first key-shaped argument. */
function featureOf(args: string[], root: string): string {
  const key = args.slice(1).find((a) => a.startsWith(`${root}:`));
  if (!key) return "core";
  const kind = key.slice(root.length + 1).split(":")[0]!;
  return FEATURE_OF[kind] ?? `unattributed (${kind})`;
}

type Counts = Map<string, Map<string, number>>;

/** Every command Redis runs for `jobs` jobs through a real worker, by feature, then by command name. */
async function commandsFor(ctx: Context, queueName: string, jobs: number, options?: (i: number) => JobOptions) {
  const { admin } = ctx.redis;
  const root = Keys.forPrefix(PREFIX).root;
  await admin.flushall();
  const worker = await startWorker(
    ctx.redis,
    { system: "edgeq", queue: queueName, concurrency: 1, isolation: "inline", horseMaxJobs: 1 },
    "features",
  );
  const client = new Redis(ctx.redis.url);
  const queue = new Queue(queueName, { redis: client, prefix: PREFIX });
  const finished = Keys.forPrefix(PREFIX).registry("finished", queueName);
  const monitor = await admin.monitor();
  try {
    // the first jobs warm the script cache and the worker's code paths
    for (let i = 0; i < 50; i++) await queue.enqueue("noop", undefined, options?.(i));
    while ((await admin.zcard(finished)) < 50) await sleep(10);
    const counts: Counts = new Map();
    let counting = false;
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      // the bench's own polls run on the admin connection, outside scripts: not the job's
      if (!counting || (source !== "lua" && /^(zcard|monitor)$/i.test(args[0]!))) return;
      const feature = /^(evalsha|eval|evalsha_ro|eval_ro)$/i.test(args[0]!) ? "core" : featureOf(args, root);
      const byCommand = counts.get(feature) ?? new Map<string, number>();
      const name = args[0]!.toUpperCase();
      byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
      counts.set(feature, byCommand);
    });
    counting = true;
    progress(`features: ${jobs} jobs of queue "${queueName}" under MONITOR`);
    for (let i = 0; i < jobs; i++) await queue.enqueue("noop", undefined, options?.(i));
    while ((await admin.zcard(finished)) < 50 + jobs) await sleep(10);
    counting = false;
    return counts;
  } finally {
    monitor.disconnect();
    client.disconnect();
    await worker.stop();
  }
}

const total = (byCommand: Map<string, number> | undefined) =>
  [...(byCommand ?? new Map()).values()].reduce((a, b) => a + b, 0);

export async function featureCosts(ctx: Context): Promise<Row[]> {
  const jobs = JOBS[ctx.profile.name];
  const plain = await commandsFor(ctx, QUEUE, jobs);
  const rows = [...UNUSED, "core", "metrics", "attempts kept per job", "queue event stream", ...plain.keys()]
    .filter((feature, i, all) => all.indexOf(feature) === i)
    .map((feature): Row => {
      const byCommand = plain.get(feature) ?? new Map<string, number>();
      const commands = [...byCommand]
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => `${name} ${(n / jobs).toFixed(2)}`)
        .join(", ");
      const used = UNUSED.includes(feature) ? "not used by the job" : "used by every job";
      return {
        id: `features.${feature.replace(/[^a-z]+/g, "-")}`,
        scenario: "8. Feature costs" as const,
        case: `${feature} (${used})`,
        figures: { "cmds/job": summarize([total(byCommand) / jobs]) },
        note: commands || "none",
      };
    });
  const grouped = await commandsFor(ctx, "grouped", jobs, (i) => ({ group: `tenant-${i % 10}` }));
  const all = (counts: Counts) => [...counts.values()].reduce((sum, byCommand) => sum + total(byCommand), 0) / jobs;
  const groupCommands = [...(grouped.get("groups") ?? new Map<string, number>())]
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${(n / jobs).toFixed(2)}`)
    .join(", ");
  rows.push({
    id: "features.a-job-in-a-group",
    scenario: "8. Feature costs" as const,
    case: "a job in a group (ten groups): all its commands, against a plain job's",
    figures: { "cmds/job": summarize([all(grouped)]) },
    note: `a plain job: ${all(plain).toFixed(2)}; on group keys: ${groupCommands || "none"}`,
  });
  return rows;
}
