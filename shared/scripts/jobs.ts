// The scripts of a job's life, typed: enqueue, the worker's steps (claim,
// complete, fail), cancel and requeue, leases and recovery, progress, and the
// reads of one job. Each names its parameters and decodes its reply; see
// index.ts for why this layer exists.
import { jobFromHash, type Job, type JobError, type NewJob } from "../job.ts";
import type { JsonValue } from "../names.ts";
import type { JobStatus } from "../status.ts";
import * as lua from "./generated.ts";
import { Transition, asArray } from "./transition.ts";

// ---- enqueue ---------------------------------------------------------------

export type EnqueueReply =
  | {
      ok: true;
      jobs: (
        | { created: true; set: { status: JobStatus; enqueuedAt?: number; error?: string } }
        | { created: false; job: Job; debounced?: boolean; deduplicated?: boolean }
      )[];
    }
  | { ok: false; error: "dependency_not_found" | "idempotency_conflict" | "id_in_other_queue"; id: string; at: number };

export const enqueue = new Transition(
  lua.enqueue,
  /** calls: each all or none on its own, taken in order, with the time it was made (see enqueue.lua) */
  (p: { calls: { now: number; jobs: NewJob[] }[] }) => [JSON.stringify(p.calls)],
  (reply): EnqueueReply[] =>
    asArray(reply as { error?: string; id: string; at: number; jobs?: unknown }[]).map((r) => {
      if (r.error) return { ok: false, error: r.error as never, id: r.id, at: r.at };
      const jobs = asArray(
        r.jobs as {
          created: boolean;
          set?: object;
          job?: Record<string, unknown>;
          debounced?: boolean;
          deduplicated?: boolean;
        }[],
      );
      return {
        ok: true,
        jobs: jobs.map(({ created, set, job, debounced, deduplicated }) =>
          created
            ? { created: true, set: set as never }
            : { created: false, job: jobFromHash(job!), debounced, deduplicated },
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

/**
 * A job as its worker holds it: its id and the claim it took it by (the job's `claims` then), its lease token.
 * Every write of the job's outcome, progress, steps or lease names both, and is refused once another claim took
 * the job (includes/owned_job.lua).
 */
export interface Held {
  id: string;
  claim: number;
}

/** What a worker reports of a job it ran to its end. */
export interface Completion extends Held {
  /** JSON text */
  result: string;
}

export const complete = new Transition(
  lua.complete,
  (p: StepParams & { jobs: Completion[] }) => [
    ...stepArgs(p),
    ...p.jobs.flatMap((job) => [job.id, job.claim, job.result]),
  ],
  decodeStep,
);

/** What a worker reports of a job whose attempt failed. */
export interface Failure extends Held {
  error: JobError;
  /** false: fail now whatever the retry policy */
  retryable: boolean;
}

export const fail = new Transition(
  lua.fail,
  (p: StepParams & { jobs: Failure[] }) => [
    ...stepArgs(p),
    ...p.jobs.flatMap((job) => [job.id, job.claim, JSON.stringify(job.error), job.retryable ? "1" : "0"]),
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
  /** worker and claim: put that worker's started job back (a cold shutdown); absent: a user's requeue. */
  (p: { now: number; id: string; worker?: string; claim?: number }) => [p.now, p.id, p.worker ?? "", p.claim ?? ""],
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
    /** The jobs the worker is running. */
    running: Held[];
  }) => [
    p.now,
    p.leaseMs,
    p.worker,
    JSON.stringify(p.state),
    p.entryTtlMs,
    ...p.running.flatMap((j) => [j.id, j.claim]),
  ],
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
  /** Log lines (ctx.log), oldest first, each as JSON text of a LogLine. */
  logs?: string[];
  /** Lines dropped on the way, before this write: the worker buffers the latest only. */
  logsDropped?: number;
}

export const progress = new Transition(
  lua.progress,
  (p: Held & { worker: string; update: ProgressUpdate }) => [
    p.id,
    p.worker,
    p.claim,
    p.update.progress === undefined ? "" : JSON.stringify(p.update.progress),
    p.update.meta ? JSON.stringify(p.update.meta) : "",
    p.update.logsDropped ?? 0,
    ...(p.update.logs ?? []),
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
  (keys, p) => [keys.job(p.id), keys.steps(p.id)],
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
  /** Its worker's lease ran out and recovery ended it: whatever that worker (a zombie) reported later was refused. */
  lost: boolean;
}

/** Whether an attempt's error says recovery took it from a worker whose lease ran out. */
export function lostBy(error: JobError | null): boolean {
  return error?.name === "AbandonedJobError";
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
        lost: lostBy(a.error ?? null),
      };
    });
    return { job: r.job ? jobFromHash(r.job) : null, earlier };
  },
  (keys, p) => [keys.job(p.id), keys.attempts(p.id)],
);

// ---- durable steps -------------------------------------------------------------

export type RecordStepReply = { ok: true; n: number } | { ok: false; error: "lost" | "recorded" | "too_many" };

export const recordStep = new Transition(
  lua.recordStep,
  (p: Held & { worker: string; step: string; result: string; startedAt: number; endedAt: number }) => [
    p.id,
    p.worker,
    p.claim,
    p.step,
    p.result,
    p.startedAt,
    p.endedAt,
  ],
  (reply) => reply as RecordStepReply,
);

export const suspend = new Transition(
  lua.suspend,
  /** event: what a wait (ctx.waitForEvent) waits for, and its key; none for a sleep */
  (p: Held & { worker: string; now: number; step: string; until: number; event?: string; key?: string }) => [
    p.id,
    p.worker,
    p.claim,
    p.now,
    p.step,
    p.until,
    p.event ?? "",
    p.key ?? "",
  ],
  (reply) => reply as RecordStepReply,
);

export const sendEvent = new Transition(
  lua.sendEvent,
  (p: { now: number; queue: string; event: string; key?: string; data: string }) => [
    p.now,
    p.queue,
    p.event,
    p.key ?? "",
    p.data,
  ],
  (reply) => reply as { resumed: number; more: boolean },
);

export const invoke = new Transition(
  lua.invoke,
  (p: Held & { worker: string; now: number; step: string; child: NewJob }) => [
    p.id,
    p.worker,
    p.claim,
    p.now,
    p.step,
    JSON.stringify(p.child),
  ],
  (reply) => reply as { ok: true } | { ok: false; error: "lost" | "recorded" | "too_many" | "id_in_other_queue" },
);
