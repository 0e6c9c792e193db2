// The typed face of the Lua state machine: one function per script, taking
// named parameters and answering typed replies, so that a caller cannot pass
// arguments in the wrong order or misread a reply. Everything that runs a
// script (the producer API, the worker, the tests) goes through here; the
// ARGV order each script expects is spelled once, below, beside its header in
// the .lua file.
import { jobFromHash, type Job, type JobError, type JsonValue, type NewJob } from "../job.ts";
import type { Keys } from "../keys.ts";
import { Script, type Call, type ScriptRunner } from "../script.ts";
import type { JobStatus, TerminalStatus } from "../status.ts";
import * as lua from "./generated.ts";

/** One script call, ready to run alone or in a pipeline with others (shared/script.ts). */
export type { Call } from "../script.ts";

export class Transition<P, R> {
  readonly script: Script;

  constructor(
    source: (typeof lua)[keyof typeof lua],
    readonly argv: (params: P) => (string | number)[],
    readonly decode: (reply: unknown) => R,
    /** For a `--- @key-locking` script: every key it touches, as its KEYS. */
    readonly touches?: (keys: Keys, params: P) => string[],
  ) {
    this.script = new Script(source);
    if ((source.keyLockingSha !== undefined) !== (touches !== undefined)) {
      throw new Error(`${source.name}: a script names the keys it touches (touches) exactly when it says @key-locking`);
    }
  }

  call(keys: Keys, params: P): Call<R> {
    const { keys: k, argv } = this.script.call(keys, this.argv(params), this.touches?.(keys, params));
    return { script: this.script, keys: k, argv, decode: this.decode };
  }

  async run(redis: ScriptRunner, keys: Keys, params: P): Promise<R> {
    return this.decode(await this.script.run(redis, keys, this.argv(params), this.touches?.(keys, params)));
  }
}

/** Lua's cjson writes an empty array as `{}`. */
export function asArray<T>(value: T[] | object | undefined | null): T[] {
  return Array.isArray(value) ? value : [];
}

// ---- enqueue ---------------------------------------------------------------

export type EnqueueReply =
  | {
      ok: true;
      jobs: (
        | { created: true; set: { status: JobStatus; enqueuedAt?: number; error?: string } }
        | { created: false; job: Job }
      )[];
    }
  | { ok: false; error: "dependency_not_found" | "idempotency_conflict" | "id_in_other_queue"; id: string; at: number };

export const enqueue = new Transition(
  lua.enqueue,
  /** groups: each all or none on its own, taken in order, with the time its call was made (see enqueue.lua) */
  (p: { groups: { now: number; jobs: NewJob[] }[] }) => [JSON.stringify(p.groups)],
  (reply): EnqueueReply[] =>
    asArray(reply as { error?: string; id: string; at: number; jobs?: unknown }[]).map((r) => {
      if (r.error) return { ok: false, error: r.error as never, id: r.id, at: r.at };
      const jobs = asArray(r.jobs as { created: boolean; set?: object; job?: Record<string, unknown> }[]);
      return {
        ok: true,
        jobs: jobs.map((j) =>
          j.created ? { created: true, set: j.set as never } : { created: false, job: jobFromHash(j.job!) },
        ),
      };
    }),
);

// ---- claim, complete, fail: one reply shape ----------------------------------

/** What a worker wants next, for claim and for complete/fail that claim in the same call. */
export interface Wants {
  leaseMs: number;
  /** How many jobs at most. */
  max: number;
  /** Queue names, highest priority first. */
  queues: string[];
}

/** A worker's step: the outcome of what it reported (if anything), and the jobs it takes next. */
export interface Step {
  /**
   * Per job reported, in order: ok false when the worker no longer held it (its lease ran out), and its status
   * afterwards ('missing': gone). Empty for a plain claim.
   */
  reported: { ok: boolean; status: JobStatus | "missing" }[];
  /** Jobs now started for this worker. */
  jobs: Job[];
  /** When a wait should end: the earliest scheduled job of the worker's queues falls due, or a rate window opens. */
  nextDueAt: number | null;
  /** The call stopped at its bound of visited ids: another may find more jobs at once. */
  more: boolean;
}

function decodeStep(reply: unknown): Step {
  const r = reply as { reported?: unknown; jobs?: unknown; nextDueAt?: number; more?: boolean };
  return {
    reported: asArray(r.reported as Step["reported"]),
    jobs: asArray(r.jobs as Record<string, unknown>[]).map(jobFromHash),
    nextDueAt: r.nextDueAt ?? null,
    more: r.more ?? false,
  };
}

interface StepParams {
  now: number;
  /** The worker taking the step. */
  worker: string;
  /** What it wants next; none: claim nothing. */
  next?: Wants;
  /** The other jobs it keeps running, for its entry's current state. */
  running?: string[];
  /** Set once the worker stops taking jobs: its entry says so, and a claim behind its wait takes nothing. */
  stopping?: "warm" | "cold";
}

/** The ARGV every step starts with (see shared/scripts/claim.lua). */
const stepArgs = (p: StepParams) => [
  p.now,
  p.worker,
  p.next?.leaseMs ?? 0,
  p.next?.max ?? 0,
  (p.next?.queues ?? []).join(","),
  (p.running ?? []).join(","),
  p.stopping ?? "",
];

export const claim = new Transition(
  lua.claim,
  /** behindWait: sent on the connection of the worker's blocking wait, to run when a job wakes it */
  (p: StepParams & { next: Wants; behindWait?: boolean }) => [...stepArgs(p), p.behindWait ? "1" : ""],
  decodeStep,
);

/** What a worker reports of a job it ran to its end. */
export interface Completion {
  id: string;
  /** JSON text */
  result: string;
}

export const complete = new Transition(
  lua.complete,
  (p: StepParams & { jobs: Completion[] }) => [...stepArgs(p), ...p.jobs.flatMap((job) => [job.id, job.result])],
  decodeStep,
);

/** What a worker reports of a job whose attempt failed. */
export interface Failure {
  id: string;
  error: JobError;
  /** false: fail now whatever the retry policy */
  retryable: boolean;
}

export const fail = new Transition(
  lua.fail,
  (p: StepParams & { jobs: Failure[] }) => [
    ...stepArgs(p),
    ...p.jobs.flatMap((job) => [job.id, JSON.stringify(job.error), job.retryable ? "1" : "0"]),
  ],
  decodeStep,
);

// ---- cancel, requeue ---------------------------------------------------------

export type MoveReply =
  | { ok: true; status: JobStatus; before: JobStatus }
  | { ok: false; error: "not_found" | "state"; status?: JobStatus };

function decodeMove(reply: unknown): MoveReply {
  const r = reply as { error?: "not_found" | "state"; status: JobStatus; before: JobStatus };
  return r.error ? { ok: false, error: r.error, status: r.status } : { ok: true, status: r.status, before: r.before };
}

export const cancel = new Transition(lua.cancel, (p: { now: number; id: string }) => [p.now, p.id], decodeMove);

export const requeue = new Transition(
  lua.requeue,
  /** worker: put that worker's started job back (a cold shutdown); absent: a user's requeue. */
  (p: { now: number; id: string; worker?: string }) => [p.now, p.id, p.worker ?? ""],
  decodeMove,
);

// ---- leases and maintenance --------------------------------------------------

export const renew = new Transition(
  lua.renew,
  (p: {
    now: number;
    leaseMs: number;
    worker: string;
    /** The worker entry's fields. */
    state: Record<string, string>;
    /** How long the worker entry lives without another heartbeat. */
    entryTtlMs: number;
    /** Ids of the jobs the worker is running. */
    running: string[];
  }) => [p.now, p.leaseMs, p.worker, JSON.stringify(p.state), p.entryTtlMs, ...p.running],
  (reply) => {
    const r = reply as { stop?: unknown; lost?: unknown; outboxDueAt?: number };
    return { stop: asArray(r.stop as string[]), lost: asArray(r.lost as string[]), outboxDueAt: r.outboxDueAt ?? null };
  },
);

export const recover = new Transition(
  lua.recover,
  (p: { now: number /** the interval between passes */; lockMs: number }) => [p.now, p.lockMs],
  (reply) => reply as { ran: boolean; recovered: number; promoted: number; more: boolean },
);

// ---- progress ----------------------------------------------------------------

/** What a running task reports besides its outcome. */
export interface ProgressUpdate {
  progress?: JsonValue;
  /** Fields merged into the job's meta. */
  meta?: Record<string, JsonValue>;
}

export const progress = new Transition(
  lua.progress,
  (p: { id: string; worker: string; update: ProgressUpdate }) => [
    p.id,
    p.worker,
    p.update.progress === undefined ? "" : JSON.stringify(p.update.progress),
    p.update.meta ? JSON.stringify(p.update.meta) : "",
  ],
  (reply) => reply as { ok: boolean },
);

// ---- callbacks -----------------------------------------------------------------

/** A callback delivery as the outbox holds it. */
export interface Delivery {
  /** The webhook-id: one per ending of a job, the same on every retry. */
  id: string;
  jobId: string;
  url: string;
  /** The job as it ended. */
  job: Job;
  /** Attempts so far, this one included. */
  attempts: number;
  createdAt: number;
}

export const claimDeliveries = new Transition(
  lua.claimDeliveries,
  (p: { now: number; leaseMs: number; max: number }) => [p.now, p.leaseMs, p.max],
  (reply) => {
    const r = reply as { deliveries?: unknown; nextAt?: number };
    const deliveries = asArray(r.deliveries as Record<string, string>[]).map(
      (d): Delivery => ({
        id: d.id!,
        jobId: d.jobId!,
        url: d.url!,
        job: jobFromHash(JSON.parse(d.job!)),
        attempts: Number(d.attempts),
        createdAt: Number(d.createdAt),
      }),
    );
    return { deliveries, nextAt: r.nextAt ?? null };
  },
);

export type DeliveryOutcome =
  | { outcome: "delivered" }
  | { outcome: "refused" | "failed"; error: string }
  | { outcome: "retry"; error: string; retryAt: number };

export const settleDelivery = new Transition(
  lua.settleDelivery,
  (p: { id: string } & DeliveryOutcome) => [
    p.id,
    p.outcome,
    "error" in p ? p.error : "",
    p.outcome === "retry" ? p.retryAt : "",
  ],
  (reply) => reply as { ok: boolean },
);

// ---- reads -------------------------------------------------------------------

export const getJob = new Transition(
  lua.getJob,
  (p: { id: string }) => [p.id],
  (reply) => {
    const job = (reply as { job?: Record<string, unknown> }).job;
    return job ? jobFromHash(job) : null;
  },
  (keys, p) => [keys.job(p.id)],
);

/** One attempt of a job: how it ended, where and when. */
export interface Attempt {
  attempt: number;
  status: JobStatus;
  worker: string | null;
  startedAt: number | null;
  endedAt: number | null;
  result: JsonValue | null;
  error: JobError | null;
}

export const getAttempts = new Transition(
  lua.getAttempts,
  (p: { id: string }) => [p.id],
  (reply) => {
    const r = reply as { job?: Record<string, unknown>; attempts?: unknown };
    const earlier = asArray(r.attempts as string[]).map((text): Attempt => {
      const a = JSON.parse(text) as Partial<Attempt>;
      return {
        attempt: a.attempt ?? 0,
        status: a.status!,
        worker: a.worker ?? null,
        startedAt: a.startedAt ?? null,
        endedAt: a.endedAt ?? null,
        result: a.result ?? null,
        error: a.error ?? null,
      };
    });
    return { job: r.job ? jobFromHash(r.job) : null, earlier };
  },
  (keys, p) => [keys.job(p.id), keys.attempts(p.id)],
);

/** A queue's settings, stored in Redis and obeyed by every claim across the fleet. */
export interface QueueSettings {
  paused?: boolean;
  /** At most `max` jobs started in any window of `perMs`. */
  limit?: { max: number; perMs: number };
  /** At most this many jobs of the queue started at once, across the fleet. */
  concurrency?: number;
}

/** The queues named, or a page (by name) of every queue in use. */
export type QueueSelection = { queues: string[] } | { cursor?: string; limit?: number };

export interface QueueCounts {
  name: string;
  counts: Record<JobStatus, number>;
  settings: QueueSettings;
  /** The worker entries' fields, as stored. */
  workers: Record<string, unknown>[];
  /** With stats: jobs ended per status, and the run-time histogram (`le:<seconds>` buckets, `durationMs`). */
  stats?: Record<string, number>;
  /** Schedules that enqueue to it (the first 50 by name): when each next fires, and last fired. */
  schedules: { name: string; nextAt: number | null; lastAt: number | null }[];
  /** For queues asked for by name: the declared tasks as stored (name, JSON text, …); see shared/tasks.ts. */
  tasks?: string[];
}

export interface CountsReply {
  queues: QueueCounts[];
  /** Where the next page of queues starts; null on the last. */
  nextCursor: string | null;
  /** Callback deliveries waiting or in flight, and when the oldest was created. */
  outbox: { size: number; oldestAt: number | null };
}

export const counts = new Transition(
  lua.counts,
  (p: { now: number /** with each queue's counters, for metrics */; stats?: boolean } & QueueSelection) => [
    p.now,
    ...("queues" in p ? [p.queues.join(","), "", ""] : ["", p.cursor ?? "", p.limit ?? ""]),
    p.stats ? "1" : "",
  ],
  (reply): CountsReply => {
    const r = reply as { queues?: unknown; nextCursor?: string; outbox?: { size: number; oldestAt?: number } };
    return {
      queues: asArray(r.queues as QueueCounts[]).map((q) => ({
        name: q.name,
        counts: q.counts,
        settings: Array.isArray(q.settings) ? {} : (q.settings ?? {}),
        workers: asArray(q.workers),
        schedules: asArray(q.schedules).map((x) => ({
          name: x.name,
          nextAt: x.nextAt ?? null,
          lastAt: x.lastAt ?? null,
        })),
        ...(q.tasks && { tasks: asArray(q.tasks) }),
        ...(q.stats && {
          stats: Object.fromEntries(Object.entries(q.stats).map(([field, value]) => [field, Number(value)])),
        }),
      })),
      nextCursor: r.nextCursor ?? null,
      outbox: { size: r.outbox?.size ?? 0, oldestAt: r.outbox?.oldestAt ?? null },
    };
  },
);

/** Where a page of a listing starts: the previous page's last score, and how many jobs with it were listed. */
export interface ListCursor {
  score: string;
  count: number;
}

export const list = new Transition(
  lua.list,
  (p: { now: number; queue: string; status: JobStatus; limit: number; cursor?: ListCursor }) => [
    p.now,
    p.queue,
    p.status,
    p.limit,
    p.cursor?.score ?? "",
    p.cursor?.count ?? 0,
  ],
  (reply) => {
    const r = reply as { jobs?: unknown; score?: string; count?: number };
    const next: ListCursor | null = r.score === undefined ? null : { score: String(r.score), count: r.count ?? 0 };
    return { jobs: asArray(r.jobs as Record<string, unknown>[]).map(jobFromHash), next };
  },
);

/** Jobs finished and failed per minute, oldest minute first. */
export const minutes = new Transition(
  lua.minutes,
  (p: { now: number; queues: string[]; minutes: number }) => [p.now, p.queues.join(","), p.minutes],
  (reply) => {
    const r = (reply ?? {}) as Record<string, { finished?: unknown; failed?: unknown }>;
    return Object.fromEntries(
      Object.entries(r).map(([queue, m]) => [
        queue,
        { finished: asArray(m.finished as number[]), failed: asArray(m.failed as number[]) },
      ]),
    ) as Record<string, { finished: number[]; failed: number[] }>;
  },
);

// ---- queue actions -------------------------------------------------------------

/** What one bounded call of a bulk action did, and whether another should follow. */
export interface Chunk {
  count: number;
  more: boolean;
  /** Where the next call starts, for an action that walks a set it does not empty (clean); null when done. */
  cursor?: number | null;
}

/** A settings change: a field set to null is removed. */
export type SettingsPatch = { [K in keyof QueueSettings]?: QueueSettings[K] | null };

export const configureQueue = new Transition(
  lua.configureQueue,
  (p: { queue: string; settings: SettingsPatch }) => [p.queue, JSON.stringify(p.settings)],
  (reply) => {
    const settings = (reply as { settings?: unknown }).settings;
    return (Array.isArray(settings) ? {} : (settings ?? {})) as QueueSettings;
  },
);

export const requeueAll = new Transition(
  lua.requeueAll,
  (p: { now: number; queue: string; status: "failed" | "stopped" | "canceled" }) => [p.now, p.queue, p.status],
  (reply) => reply as Chunk,
);

export const empty = new Transition(
  lua.empty,
  (p: { now: number; queue: string }) => [p.now, p.queue],
  (reply) => reply as Chunk,
);

export const clean = new Transition(
  lua.clean,
  (p: { queue: string; status: TerminalStatus; before: number; cursor?: number }) => [
    p.queue,
    p.status,
    p.before,
    p.cursor ?? 0,
  ],
  (reply): Chunk => {
    const r = reply as { count: number; nextCursor?: number };
    return { count: r.count, more: r.nextCursor !== undefined, cursor: r.nextCursor ?? null };
  },
);

// ---- task declarations --------------------------------------------------------

export const declareTasks = new Transition(
  lua.declareTasks,
  /** tasks: name → declaration as JSON text (see shared/tasks.ts) */
  (p: { now: number; keepMs: number; queues: string[]; tasks: [name: string, declaration: string][] }) => [
    p.now,
    p.keepMs,
    p.queues.join(","),
    ...p.tasks.flat(),
  ],
  (reply) => ({ dropped: reply as number }),
);

export const getTasks = new Transition(
  lua.getTasks,
  (p: { queues: string[] }) => [p.queues.join(",")],
  /** per queue named, in order: name, declaration (JSON text), … */
  (reply) => asArray(reply as string[][]).map((flat) => asArray(flat)),
  (keys, p) => p.queues.map((queue) => keys.tasks(queue)),
);

// ---- the edge: webhook replays, request limits -------------------------------

export const seenDelivery = new Transition(
  lua.seenDelivery,
  /** id: the delivery's job id */
  (p: { id: string }) => [p.id],
  (reply) => {
    const r = reply as { seen?: boolean; status?: JobStatus };
    return { seen: r.seen === true, status: r.status ?? null };
  },
  (keys, p) => [keys.seenDelivery(p.id), keys.job(p.id)],
);

export const rememberDelivery = new Transition(
  lua.rememberDelivery,
  (p: { now: number; id: string; windowSec: number }) => [p.id, p.now, p.windowSec],
  () => undefined,
  (keys, p) => [keys.seenDelivery(p.id)],
);

export interface RequestCount {
  allowed: boolean;
  /** Requests in the current window, this one included. */
  count: number;
  /** When the window ends, epoch ms. */
  resetAt: number;
}

export const countRequest = new Transition(
  lua.countRequest,
  /** key: the API key's id, never the key; requests: allowed per window of windowMs */
  (p: { now: number; key: string; requests: number; windowMs: number }) => [p.now, p.key, p.requests, p.windowMs],
  (reply) => reply as RequestCount,
  // the window's counter, as the script names it
  (keys, p) => [keys.requests(p.key, String(Math.floor(p.now / p.windowMs)))],
);

// ---- schedules -----------------------------------------------------------------

/** A schedule as stored: its spec is JSON text, parsed by shared/schedule.ts. */
export interface StoredSchedule {
  name: string;
  spec: string;
  nextAt: number | null;
  lastAt: number | null;
  lastJobId: string | null;
  createdAt: number;
  updatedAt: number;
}

export const saveSchedule = new Transition(
  lua.saveSchedule,
  (p: { now: number; name: string; spec: string; nextAt: number }) => [p.now, p.name, p.spec, p.nextAt],
  (reply) => reply as { created: boolean },
);

export const removeSchedule = new Transition(
  lua.removeSchedule,
  (p: { name: string }) => [p.name],
  (reply) => reply as { removed: boolean },
);

export const getSchedules = new Transition(
  lua.getSchedules,
  (p: { names: string[] } | { offset?: number; limit?: number }) =>
    "names" in p ? [p.names.join(","), "", ""] : ["", p.offset ?? 0, p.limit ?? ""],
  (reply) =>
    asArray((reply as { schedules?: unknown }).schedules as StoredSchedule[]).map((x) => ({
      ...x,
      nextAt: x.nextAt ?? null,
      lastAt: x.lastAt ?? null,
      lastJobId: x.lastJobId ?? null,
    })),
);

export const dueSchedules = new Transition(
  lua.dueSchedules,
  (p: { now: number }) => [p.now],
  (reply) => {
    const r = reply as { due?: unknown; nextAt?: number };
    const due = asArray(r.due as { name: string; dueAt: number; spec: string; createdAt: number }[]);
    return { due, nextAt: r.nextAt ?? null };
  },
);

export const fireSchedule = new Transition(
  lua.fireSchedule,
  (p: { now: number; name: string; dueAt: number; tick: number; nextAt: number | null; job: NewJob }) => [
    p.now,
    p.name,
    p.dueAt,
    p.tick,
    p.nextAt ?? "",
    JSON.stringify(p.job),
  ],
  (reply) => reply as { fired: boolean; jobId?: string },
);
