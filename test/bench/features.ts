// What each feature costs a job that does not use it: plain jobs (no
// priority, no schedule, no limit, no callback, no dependency, no progress)
// go through a real worker while MONITOR records every command Redis runs,
// those inside scripts included. Each command is charged to the feature its
// key belongs to, by the key's kind (shared/keys.ts), so a feature that a
// plain job pays for shows up as commands per job against its name. Run once
// per bench: it counts commands, which do not vary from round to round.
import { Redis } from "ioredis";
import { Keys, Queue } from "../../shared/index.ts";
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
];

/** The feature a command run by Redis serves, from the first key-shaped argument. */
function featureOf(args: string[], root: string): string {
  const key = args.slice(1).find((a) => a.startsWith(`${root}:`));
  if (!key) return "core";
  const kind = key.slice(root.length + 1).split(":")[0]!;
  return FEATURE_OF[kind] ?? `unattributed (${kind})`;
}

export async function featureCosts(ctx: Context): Promise<Row[]> {
  const { admin } = ctx.redis;
  const jobs = JOBS[ctx.profile.name];
  const root = Keys.forPrefix(PREFIX).root;
  await admin.flushall();
  const worker = await startWorker(
    ctx.redis,
    { system: "edgeq", queue: QUEUE, concurrency: 1, isolation: "inline", horseMaxJobs: 1 },
    "features",
  );
  const client = new Redis(ctx.redis.url);
  const queue = new Queue(QUEUE, { redis: client, prefix: PREFIX });
  const finished = Keys.forPrefix(PREFIX).registry("finished", QUEUE);
  const monitor = await admin.monitor();
  try {
    // the first jobs warm the script cache and the worker's code paths
    for (let i = 0; i < 50; i++) await queue.enqueue("noop");
    while ((await admin.zcard(finished)) < 50) await sleep(10);
    const counts = new Map<string, Map<string, number>>();
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
    progress(`features: ${jobs} plain jobs under MONITOR`);
    for (let i = 0; i < jobs; i++) await queue.enqueue("noop");
    while ((await admin.zcard(finished)) < 50 + jobs) await sleep(10);
    counting = false;
    return [...UNUSED, "core", "metrics", "attempts kept per job", ...counts.keys()]
      .filter((feature, i, all) => all.indexOf(feature) === i)
      .map((feature) => {
        const byCommand = counts.get(feature) ?? new Map<string, number>();
        const total = [...byCommand.values()].reduce((a, b) => a + b, 0) / jobs;
        const commands = [...byCommand]
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => `${name} ${(n / jobs).toFixed(2)}`)
          .join(", ");
        const used = UNUSED.includes(feature) ? "not used by the job" : "used by every job";
        return {
          id: `features.${feature.replace(/[^a-z]+/g, "-")}`,
          scenario: "8. Feature costs" as const,
          case: `${feature} (${used})`,
          figures: { "cmds/job": summarize([total]) },
          note: commands || "none",
        };
      });
  } finally {
    monitor.disconnect();
    client.disconnect();
    await worker.stop();
  }
}
