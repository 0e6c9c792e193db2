// Recurring jobs: a schedule enqueues one job per tick of a cron expression
// (in a time zone) or of a fixed interval, across the whole fleet. Cron is
// parsed by croner, a maintained library, which also decides what a tick is
// across daylight-saving changes. Workers fire the ticks (fireDueSchedules);
// a tick's job id is made from the schedule and the tick, so two workers, or
// a worker restarted mid-tick, never make two jobs of one tick. Ticks missed
// while no worker ran are not replayed one by one: the latest runs once.
import { Cron } from "croner";
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { ScheduleNotFoundError, ValidationError } from "./errors.ts";
import { parseOrThrow } from "./errors.ts";
import { newJob } from "./job.ts";
import { jsonValueSchema, queueNameSchema, taskNameSchema } from "./names.ts";
import { jobOptionsFields } from "./options.ts";
import { Keys } from "./keys.ts";
import { scriptRunner, type RedisClient } from "./redis.ts";
import type { ScriptRunner } from "./script.ts";
import * as scripts from "./scripts/index.ts";

/** A tick's job is named `schedule:<name>:<tick>`: the edge keeps the prefix for schedules alone. */
export const SCHEDULE_JOB_PREFIX = "schedule:";

export const scheduleNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 characters of letters, digits, '_', '.', ':' or '-'");

const cronSchema = z
  .string()
  .max(128)
  .superRefine((pattern, ctx) => {
    try {
      new Cron(pattern, { paused: true });
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message.replace(/^CronPattern: /, "") });
    }
  });

const timeZoneSchema = z
  .string()
  .max(64)
  .superRefine((tz, ctx) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
    } catch {
      ctx.addIssue({ code: "custom", message: "is not an IANA time zone (e.g. Europe/Berlin)" });
    }
  });

/** A schedule: what to enqueue, and when. Exactly one of cron (with an optional tz) and everyMs. */
export const scheduleSpecSchema = z
  .strictObject({
    queue: queueNameSchema,
    task: taskNameSchema,
    args: jsonValueSchema.optional(),
    // a tick's job has its own id, runs at its tick and depends on nothing
    options: jobOptionsFields.omit({ id: true, runAt: true, delayMs: true, dependsOn: true }).optional(),
    cron: cronSchema.optional().describe('five or six fields, e.g. "*/5 * * * *"'),
    tz: timeZoneSchema.optional().describe("IANA time zone of the cron expression; default UTC"),
    everyMs: z
      .number()
      .int()
      .min(1_000)
      .max(366 * 24 * 3600 * 1000)
      .optional(),
  })
  .refine((s) => (s.cron === undefined) !== (s.everyMs === undefined), {
    message: "give cron or everyMs, exactly one",
    path: ["cron"],
  })
  .refine((s) => s.tz === undefined || s.cron !== undefined, { message: "goes with cron", path: ["tz"] })
  .meta({ id: "ScheduleSpec" });

export type ScheduleSpec = z.input<typeof scheduleSpecSchema>;

/** A schedule as producers see it. */
export interface ScheduleView extends ScheduleSpec {
  name: string;
  createdAt: number;
  updatedAt: number;
  /** When it last fired, and the job that tick made. */
  lastRunAt: number | null;
  lastJobId: string | null;
  /** The next few ticks, epoch ms; the first is when it next fires. */
  nextRuns: number[];
}

/**
 * Ticks of a schedule. An interval's ticks are anchored at the schedule's
 * creation, so replacing a schedule keeps its rhythm.
 */
export class Ticks {
  readonly #cron: Cron | null;

  constructor(
    readonly spec: ScheduleSpec,
    readonly anchor: number,
  ) {
    this.#cron = spec.cron ? new Cron(spec.cron, { timezone: spec.tz ?? "UTC", paused: true }) : null;
  }

  /** The first `n` ticks after `after`. */
  next(after: number, n = 1): number[] {
    if (this.#cron) return this.#cron.nextRuns(n, new Date(after)).map((d) => d.getTime());
    const every = this.spec.everyMs!;
    const first = this.anchor + (Math.floor((after - this.anchor) / every) + 1) * every;
    return Array.from({ length: n }, (_, i) => first + i * every);
  }

  /** The latest tick at or before `at`, or null when there is none. */
  latest(at: number): number | null {
    if (this.#cron) return this.#cron.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? null;
    const every = this.spec.everyMs!;
    return at < this.anchor + every ? null : this.anchor + Math.floor((at - this.anchor) / every) * every;
  }
}

export class Schedules {
  readonly keys: Keys;
  readonly #redis: ScriptRunner;

  constructor(options: { redis: RedisClient; prefix?: string }) {
    this.keys = Keys.forPrefix(options.prefix ?? DEFAULTS.prefix);
    this.#redis = scriptRunner(options.redis);
  }

  /** Creates or replaces a schedule; it fires first at its next tick from now. */
  async set(name: string, spec: ScheduleSpec): Promise<{ created: boolean; schedule: ScheduleView }> {
    parseOrThrow(scheduleNameSchema, name, "name");
    const checked = parseOrThrow(scheduleSpecSchema, spec);
    // the job a tick makes must be one the producer API would take
    newJob(checked.queue, checked.task, checked.args, checked.options, { maxArgsBytes: DEFAULTS.maxArgsBytes, now: 0 });
    const now = Date.now();
    const [existing] = await scripts.getSchedules.run(this.#redis, this.keys, { names: [name] });
    const nextAt = new Ticks(checked, existing?.createdAt ?? now).next(now)[0];
    if (nextAt === undefined) throw new ValidationError([{ field: "cron", message: "never fires" }]);
    const { created } = await scripts.saveSchedule.run(this.#redis, this.keys, {
      now,
      name,
      spec: JSON.stringify(checked),
      nextAt,
    });
    return { created, schedule: (await this.get(name))! };
  }

  /** The schedule with its next `runs` ticks, or null. */
  async get(name: string, runs = 5): Promise<ScheduleView | null> {
    parseOrThrow(scheduleNameSchema, name, "name");
    const [stored] = await scripts.getSchedules.run(this.#redis, this.keys, { names: [name] });
    return stored ? viewOf(stored, runs) : null;
  }

  /** A page of the schedules, in the order they fire next. */
  async list(options: { offset?: number; limit?: number } = {}): Promise<ScheduleView[]> {
    const stored = await scripts.getSchedules.run(this.#redis, this.keys, options);
    return stored.map((s) => viewOf(s, 1));
  }

  /** Deletes a schedule (the jobs it made stay); throws when there is none. */
  async remove(name: string): Promise<void> {
    parseOrThrow(scheduleNameSchema, name, "name");
    const { removed } = await scripts.removeSchedule.run(this.#redis, this.keys, { name });
    if (!removed) throw new ScheduleNotFoundError(name);
  }
}

function viewOf(stored: scripts.StoredSchedule, runs: number): ScheduleView {
  const spec = JSON.parse(stored.spec) as ScheduleSpec;
  const ticks = new Ticks(spec, stored.createdAt);
  const from = Math.max(Date.now(), stored.lastAt ?? 0);
  return {
    name: stored.name,
    ...spec,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    lastRunAt: stored.lastAt,
    lastJobId: stored.lastJobId,
    nextRuns: stored.nextAt === null ? [] : [stored.nextAt, ...ticks.next(Math.max(stored.nextAt, from), runs - 1)],
  };
}

/**
 * Fires every schedule that is due: for each, the latest tick at or before
 * now (missed ticks are not replayed) makes one job, and the schedule moves
 * to its first tick after now. Answers the jobs made and when the next
 * schedule falls due, for the worker's timer.
 */
export async function fireDueSchedules(
  redis: ScriptRunner,
  keys: Keys,
  now = Date.now(),
): Promise<{ fired: string[]; nextAt: number | null }> {
  const { due, nextAt } = await scripts.dueSchedules.run(redis, keys, { now });
  const fired: string[] = [];
  let soonest = nextAt;
  for (const { name, dueAt, spec: text, createdAt } of due) {
    const spec = JSON.parse(text) as ScheduleSpec;
    const ticks = new Ticks(spec, createdAt);
    const tick = ticks.latest(now) ?? dueAt;
    const next = ticks.next(now)[0] ?? null;
    const job = newJob(
      spec.queue,
      spec.task,
      spec.args,
      { ...spec.options, id: `${SCHEDULE_JOB_PREFIX}${name}:${tick}` },
      {
        maxArgsBytes: DEFAULTS.maxArgsBytes,
        now,
      },
    );
    const reply = await scripts.fireSchedule.run(redis, keys, { now, name, dueAt, tick, nextAt: next, job });
    if (reply.fired && reply.jobId) fired.push(reply.jobId);
    if (next !== null && (soonest === null || next < soonest)) soonest = next;
  }
  return { fired, nextAt: soonest };
}
