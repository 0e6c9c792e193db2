// The admin CLI, `edgeq admin` (in the repository, `tsx worker-node/cli/admin.ts`):
// what an on-call engineer reaches for, from a shell with TCP access to Redis.
// Every command goes through the producer API (shared/queue.ts), so it obeys
// the same scripts as the edge and the workers and runs no Lua of its own.
// Output is for people; --json prints what a script would parse instead.
// Exit codes: 0 done, 1 failed (the message names the problem), 2 usage.
//
// `edgeq admin …` imports this module after taking its own word off argv, so
// it runs from its top level, reading process.argv.slice(2) either way.
import { parseArgs } from "node:util";
import {
  DEFAULTS,
  describeQueues,
  EdgeqError,
  getJob,
  JobNotFoundError,
  Keys,
  Queue,
  ScheduleNotFoundError,
  Schedules,
  STATUSES,
  TERMINAL_STATUSES,
  type Attempt,
  type JobStatus,
  type JobView,
  type JsonValue,
  type QueueInfo,
  type QueuesPage,
  type ScheduleSpec,
  type ScheduleView,
  type SettingsPatch,
  type WorkerInfo,
} from "../../shared/index.ts";
import { prefixSchema } from "../../shared/job.ts";
import { ConfigError, readRedisEnv } from "../config.ts";
import { connect, type Connection } from "../connection.ts";

/** Every flag any command takes; each command names the ones it accepts. */
const OPTIONS = {
  json: { type: "boolean" },
  prefix: { type: "string" },
  help: { type: "boolean", short: "h" },
  status: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  "all-failed": { type: "boolean" },
  "older-than": { type: "string" },
  max: { type: "string" },
  per: { type: "string" },
  off: { type: "boolean" },
  queue: { type: "string" },
  task: { type: "string" },
  args: { type: "string" },
  cron: { type: "string" },
  tz: { type: "string" },
  every: { type: "string" },
  delete: { type: "boolean" },
} as const;
type Flag = keyof typeof OPTIONS;
type Flags = { [F in Flag]?: (typeof OPTIONS)[F]["type"] extends "boolean" ? boolean : string };
const GLOBAL_FLAGS: Flag[] = ["json", "prefix", "help"];

interface Context {
  redis: Connection;
  prefix: string;
  keys: Keys;
  now: number;
}

/** What a command prints: text for a person, or with --json a value for a program. */
interface Output {
  text: string;
  json: unknown;
}

interface Command {
  /** Forms of the command line after `edgeq admin`, one per line of help. */
  synopsis: string[];
  /** One line in the list of commands. */
  summary: string;
  /** What `<command> --help` says. */
  about: string;
  /** The positionals, by name, in order. */
  args: string[];
  flags: Flag[];
  run(ctx: Context, args: string[], flags: Flags): Promise<Output>;
}

/** A command line that asks for nothing it could do; `command` when it named one, for that command's help. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

const COMMANDS: Record<string, Command> = {
  queues: {
    synopsis: ["queues"],
    summary: "jobs per status, paused, limits and workers of every queue",
    about:
      "Every queue in use: its jobs per status, whether it is paused, its limits and its workers;\n" +
      "then the live workers, and the callback outbox.",
    args: [],
    flags: [],
    run: async (ctx) => {
      const page = await allQueues(ctx);
      return { json: page, text: queuesText(page, ctx) };
    },
  },
  schedules: {
    synopsis: ["schedules"],
    summary: "recurring jobs, in the order they fire next",
    about: "Every schedule: its queue and task, its cron or interval, when it fires next and when it last did.",
    args: [],
    flags: [],
    run: async (ctx) => {
      const schedules = await allSchedules(ctx);
      const rows = schedules.map((s) => [
        s.name,
        s.queue,
        s.task,
        s.cron ? `${s.cron}${s.tz ? ` (${s.tz})` : ""}` : `every ${span(s.everyMs ?? 0)}`,
        s.nextRuns[0] === undefined ? "—" : ago(s.nextRuns[0], ctx.now),
        s.lastRunAt === null ? "never" : ago(s.lastRunAt, ctx.now),
      ]);
      const text = rows.length
        ? table(["schedule", "queue", "task", "when", "next", "last"], rows)
        : `no schedules under prefix "${ctx.prefix}"`;
      return { json: { schedules }, text };
    },
  },
  jobs: {
    synopsis: ["jobs <queue> --status S [--limit N] [--cursor C]"],
    summary: "a page of a queue's jobs in one status",
    about:
      `A page of a queue's jobs in one status: ${STATUSES.join(", ")}.\n` +
      "Queued ones in the order workers take them, ended ones newest first. --limit: at most 200, default 50;\n" +
      "the last line names the --cursor of the next page.",
    args: ["queue"],
    flags: ["status", "limit", "cursor"],
    run: async (ctx, [name], flags) => {
      const status = oneOf(flags.status, "--status", STATUSES);
      const limit = flags.limit === undefined ? undefined : wholeNumber(flags.limit, "--limit");
      const page = await queueOf(ctx, name!).list(status, { limit, cursor: flags.cursor });
      let text = page.jobs.length ? jobsTable(page.jobs, status, ctx.now) : `no ${status} jobs in queue "${name}"`;
      if (page.nextCursor) {
        const prefix = flags.prefix === undefined ? "" : ` --prefix ${flags.prefix}`;
        text += `\nmore: edgeq admin jobs ${name} --status ${status} --cursor ${page.nextCursor}${prefix}`;
      }
      return { json: page, text };
    },
  },
  schedule: {
    synopsis: [
      "schedule <name>",
      "schedule <name> --queue Q --task T (--cron EXPR [--tz ZONE] | --every <time>) [--args JSON]",
      "schedule <name> --delete",
    ],
    summary: "show, set or delete one recurring job",
    about:
      "One schedule with its next runs; with --queue and --task it is created or replaced: a cron expression\n" +
      "(five or six fields, in UTC or --tz, an IANA zone) or an interval (--every 30s, 5m, 1h); --args is the\n" +
      "task's JSON arguments. --delete removes it. Workers fire it: one job per tick across the fleet.",
    args: ["name"],
    flags: ["queue", "task", "args", "cron", "tz", "every", "delete"],
    run: async (ctx, [name], flags) => {
      const schedules = new Schedules({ redis: ctx.redis, prefix: ctx.prefix });
      const setting = ["queue", "task", "args", "cron", "tz", "every"].filter((f) => flags[f as Flag] !== undefined);
      if (flags.delete) {
        if (setting.length) throw new UsageError("--delete takes no other flag", "schedule");
        await schedules.remove(name!);
        return { json: { deleted: name }, text: `deleted schedule "${name}"` };
      }
      if (setting.length) {
        const spec: ScheduleSpec = {
          queue: required(flags.queue, "--queue"),
          task: required(flags.task, "--task"),
          ...(flags.args !== undefined && { args: jsonFlag(flags.args, "--args") }),
          ...(flags.cron !== undefined && { cron: flags.cron }),
          ...(flags.tz !== undefined && { tz: flags.tz }),
          ...(flags.every !== undefined && { everyMs: duration(flags.every, "--every") }),
        };
        const { created, schedule } = await schedules.set(name!, spec);
        return {
          json: schedule,
          text: `${created ? "created" : "replaced"} schedule "${name}"\n\n${scheduleText(schedule, ctx.now)}`,
        };
      }
      const schedule = await schedules.get(name!);
      if (!schedule) throw new ScheduleNotFoundError(name!);
      return { json: schedule, text: scheduleText(schedule, ctx.now) };
    },
  },
  job: {
    synopsis: ["job <id>"],
    summary: "one job, its error with the stack",
    about: "One job: status, timestamps, args, result, error with its stack, progress, meta, dependencies, callback.",
    args: ["id"],
    flags: [],
    run: async (ctx, [id]) => {
      const job = await findJob(ctx, id!);
      return { json: job, text: jobText(job, ctx.now) };
    },
  },
  attempts: {
    synopsis: ["attempts <id>"],
    summary: "a job's attempts, newest first",
    about: "A job's attempts, newest first: each one's worker, start, run time and error.",
    args: ["id"],
    flags: [],
    run: async (ctx, [id]) => {
      const job = await findJob(ctx, id!);
      const attempts = (await queueOf(ctx, job.queue).attempts(job.id)) ?? [];
      const text = attempts.length ? attemptsTable(attempts, ctx.now) : `job "${job.id}" has not started yet`;
      return { json: { attempts }, text };
    },
  },
  cancel: {
    synopsis: ["cancel <id>"],
    summary: "cancel a job, or stop a started one",
    about: "Cancels a job that has not started; a started one's worker is asked to stop it, and it ends as stopped.",
    args: ["id"],
    flags: [],
    run: async (ctx, [id]) => {
      const before = await findJob(ctx, id!);
      const job = await queueOf(ctx, before.queue).cancel(before.id);
      const text =
        job.status === "started"
          ? `asked the worker running job "${job.id}" to stop it; it ends as stopped`
          : `canceled job "${job.id}" (it was ${before.status})`;
      return { json: job, text };
    },
  },
  requeue: {
    synopsis: ["requeue <id>", "requeue <queue> --all-failed", "requeue <queue> --status stopped|canceled"],
    summary: "put a failed job (or all of a queue's) back",
    about:
      "Puts a failed, stopped or canceled job back in its queue, as new. With --all-failed, every failed job\n" +
      "of the queue; with --status, every job of the queue in that status.",
    args: ["id or queue"],
    flags: ["all-failed", "status"],
    run: async (ctx, [target], flags) => {
      if (flags["all-failed"] || flags.status !== undefined) {
        if (flags["all-failed"] && flags.status !== undefined && flags.status !== "failed") {
          throw new UsageError("--all-failed and --status name different jobs: give one");
        }
        const status = flags.status === undefined ? "failed" : oneOf(flags.status, "--status", REQUEUABLE);
        const { count } = await queueOf(ctx, target!).requeueAll(status);
        return { json: { count }, text: `requeued ${count} ${status} ${jobsWord(count)} of queue "${target}"` };
      }
      const before = await findJob(ctx, target!);
      const job = await queueOf(ctx, before.queue).requeue(before.id);
      return { json: job, text: `requeued job "${job.id}" (it was ${before.status}; now ${job.status})` };
    },
  },
  empty: {
    synopsis: ["empty <queue>"],
    summary: "cancel every queued job of a queue",
    about: "Cancels every queued job of a queue; scheduled, deferred and started ones stay.",
    args: ["queue"],
    flags: [],
    run: async (ctx, [name]) => {
      const { count } = await queueOf(ctx, name!).empty();
      return { json: { count }, text: `canceled ${count} queued ${jobsWord(count)} of queue "${name}"` };
    },
  },
  clean: {
    synopsis: ["clean <queue> --older-than <age> [--status S]"],
    summary: "delete a queue's ended jobs older than an age",
    about:
      "Deletes a queue's ended jobs that ended longer ago than <age>: a number and a unit, s, m, h or d\n" +
      `(30s, 15m, 12h, 7d); with --status, those of one status (${TERMINAL_STATUSES.join(", ")}) alone.`,
    args: ["queue"],
    flags: ["status", "older-than"],
    run: async (ctx, [name], flags) => {
      const statuses =
        flags.status === undefined ? TERMINAL_STATUSES : [oneOf(flags.status, "--status", TERMINAL_STATUSES)];
      const olderThan = required(flags["older-than"], "--older-than");
      const age = duration(olderThan, "--older-than");
      let count = 0;
      for (const status of statuses) count += (await queueOf(ctx, name!).clean(status, age)).count;
      const which = flags.status === undefined ? "ended" : flags.status;
      const text = `deleted ${count} ${which} ${jobsWord(count)} of queue "${name}" that ended over ${olderThan} ago`;
      return { json: { count }, text };
    },
  },
  pause: {
    synopsis: ["pause <queue>"],
    summary: "stop workers starting the queue's jobs",
    about:
      "Pauses a queue: across the fleet, no worker starts one of its jobs until it is resumed. It still takes jobs.",
    args: ["queue"],
    flags: [],
    run: (ctx, [name]) =>
      settle(ctx, name!, { paused: true }, `paused queue "${name}": no worker starts its jobs until resume`),
  },
  resume: {
    synopsis: ["resume <queue>"],
    summary: "let workers start the queue's jobs again",
    about: "Resumes a paused queue.",
    args: ["queue"],
    flags: [],
    run: (ctx, [name]) => settle(ctx, name!, { paused: null }, `resumed queue "${name}"`),
  },
  limit: {
    synopsis: ["limit <queue> --max N --per <time>", "limit <queue> --off"],
    summary: "limit how many jobs start per time",
    about:
      "At most N of the queue's jobs started in any window of <time> (500ms, 1s, 1m), across the fleet.\n" +
      "--off removes the limit.",
    args: ["queue"],
    flags: ["max", "per", "off"],
    run: (ctx, [name], flags) => {
      if (flags.off) {
        if (flags.max !== undefined || flags.per !== undefined) throw new UsageError("--off takes no --max or --per");
        return settle(ctx, name!, { limit: null }, `queue "${name}" has no rate limit now`);
      }
      const max = wholeNumber(required(flags.max, "--max"), "--max");
      const per = required(flags.per, "--per");
      const text = `queue "${name}": at most ${max} ${jobsWord(max)} started per ${per}, across the fleet`;
      return settle(ctx, name!, { limit: { max, perMs: duration(per, "--per") } }, text);
    },
  },
  concurrency: {
    synopsis: ["concurrency <queue> N", "concurrency <queue> --off"],
    summary: "limit how many jobs run at once",
    about: "At most N of the queue's jobs running at once, across the fleet. --off removes the limit.",
    args: ["queue", "N"],
    flags: ["off"],
    run: (ctx, [name, n], flags) => {
      if (flags.off) return settle(ctx, name!, { concurrency: null }, `queue "${name}" has no concurrency limit now`);
      const concurrency = wholeNumber(required(n, "N"), "N");
      return settle(ctx, name!, { concurrency }, `queue "${name}": at most ${concurrency} running at once`);
    },
  },
};

const REQUEUABLE = ["failed", "stopped", "canceled"] as const;

const USAGE = `usage: edgeq admin <command> [--json] [--prefix P]
${Object.values(COMMANDS)
  .map((c) => c.synopsis.map((form, i) => `  ${form.padEnd(50)}${i === 0 ? c.summary : ""}`.trimEnd()).join("\n"))
  .join("\n")}

  --json      print JSON for programs instead of text for people
  --prefix P  the deployment's key prefix (default: EDGEQ_PREFIX, else "${DEFAULTS.prefix}")
  -h, --help  this help; "edgeq admin <command> --help" says more about one command

Redis comes from REDIS_URL (default ${DEFAULTS.redisUrl}), or REDIS_CLUSTER_NODES for a cluster.
Exit codes: 0 done, 1 failed (the message says why), 2 usage.`;

function commandHelp(command: Command): string {
  return `usage: ${command.synopsis.map((s) => `edgeq admin ${s}`).join("\n       ")}

${command.about}
Every command also takes --json and --prefix P; "edgeq admin --help" lists the commands.`;
}

// ---- the commands' parts ----------------------------------------------------------------------

/** Every page of queues in use (a CLI may read them all; the edge pages them). */
async function allQueues(ctx: Context): Promise<QueuesPage> {
  const queues: QueueInfo[] = [];
  let page = await describeQueues(ctx.redis, ctx.keys);
  queues.push(...page.queues);
  while (page.nextCursor) {
    page = await describeQueues(ctx.redis, ctx.keys, { cursor: page.nextCursor });
    queues.push(...page.queues);
  }
  return { queues, nextCursor: null, outbox: page.outbox };
}

/** Every schedule, a page (at most 200) at a time. */
async function allSchedules(ctx: Context): Promise<ScheduleView[]> {
  const source = new Schedules({ redis: ctx.redis, prefix: ctx.prefix });
  const schedules: ScheduleView[] = [];
  for (;;) {
    const page = await source.list({ offset: schedules.length, limit: SCHEDULES_PAGE });
    schedules.push(...page);
    if (page.length < SCHEDULES_PAGE) return schedules;
  }
}

const SCHEDULES_PAGE = 200;

function queueOf(ctx: Context, name: string): Queue {
  return new Queue(name, { redis: ctx.redis, prefix: ctx.prefix });
}

/** Job ids are global: a job is found first, then acted on through its own queue. */
async function findJob(ctx: Context, id: string): Promise<JobView> {
  const job = await getJob(ctx.redis, ctx.keys, id);
  if (!job) throw new JobNotFoundError(id);
  return job;
}

/** Changes one setting and answers with the queue as it is then. */
async function settle(ctx: Context, name: string, patch: SettingsPatch, text: string): Promise<Output> {
  const queue = queueOf(ctx, name);
  await queue.configure(patch);
  return { json: await queue.info(), text };
}

// ---- text for people --------------------------------------------------------------------------

/** Columns padded to their widest cell; a column of counts is aligned right. */
function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^\d+$/.test(r[i]!)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function queuesText(page: QueuesPage, ctx: Context): string {
  if (page.queues.length === 0) return `no queues in use under prefix "${ctx.prefix}"`;
  const rows = page.queues.map((q) => [
    q.name,
    q.paused ? "yes" : "no",
    ...STATUSES.map((s) => String(q.counts[s])),
    workerStates(q.workers),
    limits(q),
  ]);
  const parts = [table(["queue", "paused", ...STATUSES, "workers", "limits"], rows)];
  const workers = new Map<string, WorkerInfo>();
  for (const w of page.queues.flatMap((q) => q.workers)) workers.set(w.name, w);
  if (workers.size > 0) {
    const workerRows = [...workers.values()].map((w) => [
      w.name,
      w.state,
      w.queues.join(","),
      w.currentJobs.join(",") || "—",
      String(w.processed),
      String(w.failed),
      ago(w.heartbeat, ctx.now),
    ]);
    parts.push(table(["worker", "state", "queues", "running", "processed", "failed", "heartbeat"], workerRows));
  }
  const { size, oldestAt } = page.outbox;
  const deliveries = `${size} ${size === 1 ? "delivery" : "deliveries"}`;
  const oldest = ago(oldestAt ?? ctx.now, ctx.now);
  parts.push(
    size === 0 ? "callback outbox: empty" : `callback outbox: ${deliveries} waiting, the oldest from ${oldest}`,
  );
  return parts.join("\n\n");
}

/** "2 busy, 1 idle", or "none". */
function workerStates(workers: WorkerInfo[]): string {
  const states = new Map<string, number>();
  for (const w of workers) states.set(w.state, (states.get(w.state) ?? 0) + 1);
  return [...states].map(([state, n]) => `${n} ${state}`).join(", ") || "none";
}

function limits(q: QueueInfo): string {
  const parts = [];
  if (q.limit) parts.push(`${q.limit.max} per ${span(q.limit.perMs)}`);
  if (q.concurrency) parts.push(`${q.concurrency} at once`);
  return parts.join(", ") || "—";
}

/** The time that matters in a listing of each status (a scheduled job's due time is not in its view). */
const LISTED_AT: Record<JobStatus, [label: string, at: (job: JobView) => number | null]> = {
  queued: ["enqueued", (j) => j.enqueuedAt],
  scheduled: ["created", (j) => j.createdAt],
  deferred: ["created", (j) => j.createdAt],
  started: ["started", (j) => j.startedAt],
  finished: ["ended", (j) => j.endedAt],
  failed: ["ended", (j) => j.endedAt],
  stopped: ["ended", (j) => j.endedAt],
  canceled: ["ended", (j) => j.endedAt],
};

function jobsTable(jobs: JobView[], status: JobStatus, now: number): string {
  const [label, at] = LISTED_AT[status];
  const withError = status === "failed" || status === "stopped";
  const rows = jobs.map((j) => [
    j.id,
    j.task,
    String(j.attempts),
    ago(at(j), now),
    ...(withError ? [j.error ? oneLine(`${j.error.name}: ${j.error.message}`, 80) : "—"] : []),
  ]);
  return table(["id", "task", "attempts", label, ...(withError ? ["error"] : [])], rows);
}

function attemptsTable(attempts: Attempt[], now: number): string {
  const rows = attempts.map((a) => [
    String(a.attempt),
    a.status,
    a.worker ?? "—",
    ago(a.startedAt, now),
    a.startedAt !== null && a.endedAt !== null ? span(a.endedAt - a.startedAt) : a.endedAt === null ? "running" : "—",
    a.error ? oneLine(`${a.error.name}: ${a.error.message}`, 80) : "—",
  ]);
  return table(["attempt", "status", "worker", "started", "ran", "error"], rows);
}

function jobText(job: JobView, now: number): string {
  const at = (ms: number | null) => (ms === null ? "—" : `${new Date(ms).toISOString()}  (${ago(ms, now)})`);
  const ran = job.startedAt !== null && job.endedAt !== null ? `  ran ${span(job.endedAt - job.startedAt)}` : "";
  const fields: [string, string][] = [
    ["job", job.id],
    ["status", job.status],
    ["queue", job.queue],
    ["task", job.task],
    ["attempts", String(job.attempts)],
    ["created", at(job.createdAt)],
    ["enqueued", at(job.enqueuedAt)],
    ["started", at(job.startedAt)],
    ["ended", at(job.endedAt) + ran],
  ];
  if (job.progress !== null) fields.push(["progress", json(job.progress)]);
  if (job.dependsOn.length) fields.push(["depends on", job.dependsOn.join(", ")]);
  if (job.callback) {
    const { status, attempts, lastError } = job.callback;
    const tries = `${attempts} ${attempts === 1 ? "try" : "tries"}`;
    fields.push(["callback", `${status} after ${tries}${lastError ? `: ${lastError}` : ""}`]);
  }
  fields.push(["args", json(job.args)]);
  if (Object.keys(job.meta).length) fields.push(["meta", json(job.meta)]);
  if (job.result !== null) fields.push(["result", json(job.result)]);
  if (job.error) fields.push(["error", job.error.stack ?? `${job.error.name}: ${job.error.message}`]);
  return labeled(fields);
}

function scheduleText(schedule: ScheduleView, now: number): string {
  const at = (ms: number) => `${new Date(ms).toISOString()}  (${ago(ms, now)})`;
  const fields: [string, string][] = [
    ["schedule", schedule.name],
    ["queue", schedule.queue],
    ["task", schedule.task],
    ["when", schedule.cron ? `${schedule.cron} (${schedule.tz ?? "UTC"})` : `every ${span(schedule.everyMs ?? 0)}`],
    ["next runs", schedule.nextRuns.map(at).join("\n") || "—"],
    ["last run", schedule.lastRunAt === null ? "never" : `${at(schedule.lastRunAt)}  job ${schedule.lastJobId}`],
    ["args", json(schedule.args ?? null)],
  ];
  if (schedule.options && Object.keys(schedule.options).length) fields.push(["options", json(schedule.options)]);
  return labeled(fields);
}

/** Label and value, one pair a line; a multi-line value (pretty JSON, a stack) continues under its first line. */
function labeled(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  return fields
    .map(([label, value]) => label.padEnd(width) + value.split("\n").join(`\n${" ".repeat(width)}`))
    .join("\n");
}

/** JSON on one line when it fits, else indented. */
function json(value: unknown): string {
  const flat = JSON.stringify(value);
  return flat.length <= 100 ? flat : JSON.stringify(value, null, 2);
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function jobsWord(n: number): string {
  return n === 1 ? "job" : "jobs";
}

/** "350ms", "4.2s", "5m 3s", "2h 5m", "3d 4h". */
function span(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  const i = units.findIndex(([, size]) => ms >= size);
  const [big, bigSize] = units[i]!;
  const [small, smallSize] = units[i + 1]!;
  const rest = Math.floor((ms % bigSize) / smallSize);
  return `${Math.floor(ms / bigSize)}${big}${rest ? ` ${rest}${small}` : ""}`;
}

/** "12s ago", "in 5m", or "—". */
function ago(ms: number | null, now: number): string {
  if (ms === null) return "—";
  // whole seconds: a tenth of one is noise in a time that passed
  const delta = Math.round((now - ms) / 1000) * 1000;
  if (delta === 0) return "now";
  return delta > 0 ? `${span(delta)} ago` : `in ${span(-delta)}`;
}

// ---- reading the command line -----------------------------------------------------------------

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`${name} is missing`);
  return value;
}

function oneOf<const T extends readonly string[]>(value: string | undefined, name: string, allowed: T): T[number] {
  if (value === undefined || !allowed.includes(value)) {
    throw new UsageError(
      `${name} must be one of ${allowed.join(", ")}${value === undefined ? "" : `, not "${value}"`}`,
    );
  }
  return value;
}

function wholeNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, not "${text}"`);
  return Number(text);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "15m", "12h", "7d" in milliseconds. */
function jsonFlag(text: string, name: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new UsageError(`${name} must be JSON, like '{"to":"ada@example.com"}', not ${text}`);
  }
}

function duration(text: string, name: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match)
    throw new UsageError(`${name} must be a number and a unit (ms, s, m, h, d), like 30s or 7d, not "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

interface CommandLine {
  /** The command's name; "help jobs" names jobs. */
  name: string | undefined;
  args: string[];
  flags: Flags;
  help: boolean;
}

/** The words and flags, or a UsageError when a flag is unknown, misses its value or --prefix is no prefix. */
function parse(argv: string[]): CommandLine {
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util names the flag it did not know, or the value it missed
    throw new UsageError((error as Error).message);
  }
  const { values: flags, positionals } = parsed;
  const [word, ...args] = positionals;
  const name = word === "help" ? args.shift() : word;
  if (flags.prefix !== undefined && !prefixSchema.safeParse(flags.prefix).success) {
    throw new UsageError("--prefix must be 1-64 letters, digits, '_', '.', ':' or '-'", name);
  }
  return { name, args, flags, help: flags.help === true || word === "help" };
}

/** The command the line names, with the positionals and flags it takes, or a UsageError. */
function resolve({ name, args, flags }: CommandLine): Command {
  if (name === undefined) throw new UsageError("which command?");
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`no command "${name}"`);
  const stray = (Object.keys(flags) as Flag[]).filter((f) => !GLOBAL_FLAGS.includes(f) && !command.flags.includes(f));
  if (stray.length) throw new UsageError(`${name} takes no ${stray.map((f) => `--${f}`).join(", ")}`, name);
  // "concurrency <queue> --off" goes without its N
  const fewest = name === "concurrency" && flags.off ? 1 : command.args.length;
  if (args.length < fewest || args.length > command.args.length) {
    throw new UsageError(`${name} takes ${command.args.map((a) => `<${a}>`).join(" ") || "no arguments"}`, name);
  }
  return command;
}

// ---- running it -------------------------------------------------------------------------------

/** The URL without its password, for messages. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "redacted";
    return parsed.toString();
  } catch {
    return "REDIS_URL";
  }
}

/** Usage to stderr: what was wrong, then the help of the command it was for (or all of it). */
function usage(error: UsageError): 2 {
  const command = error.command === undefined ? undefined : COMMANDS[error.command];
  console.error(`edgeq admin: ${error.message}\n\n${command ? commandHelp(command) : USAGE}`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  let line: CommandLine;
  try {
    line = parse(argv);
  } catch (error) {
    if (error instanceof UsageError) return usage(error);
    throw error;
  }
  if (line.help) {
    const command = line.name === undefined ? undefined : COMMANDS[line.name];
    console.log(command ? commandHelp(command) : USAGE);
    return 0;
  }
  // the environment first, as every edgeq process reads it at start: a bad variable is a failure (1)
  let env: ReturnType<typeof readRedisEnv>;
  try {
    // --prefix, already checked, stands in for EDGEQ_PREFIX
    env = readRedisEnv({ ...process.env, ...(line.flags.prefix !== undefined && { EDGEQ_PREFIX: line.flags.prefix }) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`edgeq admin: ${error.message}`);
    return 1;
  }
  let command: Command;
  try {
    command = resolve(line);
  } catch (error) {
    if (error instanceof UsageError) return usage(error);
    throw error;
  }
  const prefix = env.EDGEQ_PREFIX;
  // connected by the first command, once the command line has been found sound; no reconnecting:
  // a Redis that cannot be reached is the answer, said at once
  const redis = connect(
    { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES },
    { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5_000 },
  );
  // failures reach the command that waits on them; ioredis would also print each one unasked
  let lastError: Error | undefined;
  redis.on("error", (error: Error) => {
    lastError = error;
  });
  const where = env.REDIS_CLUSTER_NODES?.join(",") ?? shown(env.REDIS_URL);
  try {
    const ctx = { redis, prefix, keys: Keys.forPrefix(prefix), now: Date.now() };
    const output = await command.run(ctx, line.args, line.flags);
    console.log(line.flags.json ? JSON.stringify(output.json, null, 2) : output.text);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return usage(new UsageError(error.message, line.name));
    // the producer API's errors say what is wrong in words; anything else is Redis's own, where
    // "Connection is closed" says less than the error that closed it
    const message =
      error instanceof EdgeqError ? error.message : `Redis at ${where}: ${(lastError ?? (error as Error)).message}`;
    console.error(`edgeq admin: ${message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

process.exitCode = await main(process.argv.slice(2));
