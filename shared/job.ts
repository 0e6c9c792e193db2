// The job: what producers see of it, how one is laid out for the enqueue
// script, and how it is read back from its Redis hash. A job is data, never
// code: a task name the worker has registered, and JSON arguments.
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { parseOrThrow, ValidationError } from "./errors.ts";
import { jsonValueSchema, queueNameSchema, QUEUE_NAME, TASK_NAME, taskNameSchema, type JsonValue } from "./names.ts";
import { jobOptionsSchema, type retrySchema, scheduledAt, type JobOptions } from "./options.ts";
import type { JobStatus } from "./status.ts";
import { traceIdOf } from "./trace.ts";

declare const resultType: unique symbol;
/** A job id that remembers its task's result type, so that waitFor and getJob return it typed; any string will do. */
export type JobId<R = JsonValue> = string & { readonly [resultType]?: R };

export interface JobError {
  name: string;
  message: string;
  stack?: string;
}

/** Where a job's callback stands: written by the worker that delivers it. */
export interface CallbackState {
  status: "pending" | "delivered" | "refused" | "failed";
  attempts: number;
  lastError: string | null;
}

/** What producers see of a job. */
/** A job as producers see it; R is its task's result type when the producer knows its tasks (shared/tasks.ts). */
export interface JobView<R = JsonValue> {
  id: JobId<R>;
  queue: string;
  task: string;
  status: JobStatus;
  args: JsonValue;
  meta: Record<string, JsonValue>;
  result: R | null;
  error: JobError | null;
  attempts: number;
  createdAt: number;
  enqueuedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  /** What the task last reported with ctx.progress(): a number 0-100 or a small JSON object. */
  progress: JsonValue | null;
  /** The jobs it waited (or waits) for, as enqueued. */
  dependsOn: string[];
  /** The delivery of its callbackUrl, once it ended; null without one. */
  callback: CallbackState | null;
  /** The group within its queue, or null. */
  group: string | null;
  /** How many steps (ctx.step) the task has recorded. */
  stepCount: number;
  /** What a suspended durable job waits for: an event (its key, or null for any, until when), or a child job. */
  waitingFor: { event: string; key: string | null; until: number } | { child: string } | null;
  /** The recorded steps in the order they were recorded: on a read of one job (getJob), not in listings. */
  steps?: StepView[];
  /** The trace the job was enqueued in (its stored traceparent's), when it was enqueued in one. */
  traceId?: string;
}

/** A step a durable task recorded (ctx.step): its id, its place, when it ran and what it returned. */
export interface StepView {
  id: string;
  n: number;
  startedAt: number;
  endedAt: number;
  /** Left out for keys without admin, as stacks are: a step's result may hold what its task fetched. */
  result?: JsonValue;
  /** For a step that invoked a child job (ctx.invoke): the child's id, and its error if it did not finish. */
  child?: string;
  error?: JobError;
}

/** A job as an enqueue over HTTP answers it: with how a debounce or dedupe key answered the call. */
export type Enqueued<R = JsonValue> = JobView<R> & { debounced?: true; deduplicated?: true };

/** The whole stored job: the view plus the options a worker needs. */
export interface Job extends JobView {
  timeoutMs: number;
  resultTtlSec: number;
  failureTtlSec: number;
  ttlSec: number | null;
  retry: z.infer<typeof retrySchema> | null;
  runAt: number | null;
  atFront: boolean;
  priority: number | null;
  callbackUrl: string | null;
  workerName: string | null;
  /** How many times a worker claimed it; while started, the number of the current claim: its lease token. */
  claims: number;
  stopRequested: boolean;
  /** The producer's W3C trace context, when it had one (shared/trace.ts): the parent of each run's span. */
  traceparent?: string;
  tracestate?: string;
}

const utf8 = new TextEncoder();

export function byteLength(text: string): number {
  return utf8.encode(text).byteLength;
}

/** A job ready to be written, as the enqueue script takes it: its id, queue and the flat hash fields. */
export interface NewJob {
  id: string;
  queue: string;
  /** The hash's fields, flat: name, value, name, value … */
  fields: string[];
  /** The id was made here, not chosen by the caller: no job can hold it yet, so the script need not look. */
  freshId?: true;
  runAt?: number;
  atFront?: boolean;
  priority?: number;
  dependsOn?: string[];
  /** The queues a dependency may be in: a caller limited to some queues cannot reach others' jobs. */
  dependencyQueues?: string[];
  idempotencyKey?: string;
  fingerprint?: string;
  idempotencyTtlSec?: number;
  /** The group within its queue; its name is in fields too. */
  group?: string;
  debounce?: { key: string; delayMs: number; maxDelayMs?: number };
  dedupe?: { key: string; ttlMs: number };
}

/**
 * Validates one job and lays it out for the enqueue script. Throws
 * ValidationError naming the field; never writes.
 */
export function newJob(
  queue: string,
  task: string,
  args: unknown,
  options: JobOptions | undefined,
  limits: { maxArgsBytes: number; now: number },
): NewJob {
  const json = args === undefined ? null : args;
  // The common shape (a valid task, JSON args, no options) is checked here, at a fraction of zod's cost on the
  // producer's hot path; anything else goes through the one schema, which names every bad field at once.
  const plain = options === undefined && QUEUE_NAME.test(queue) && TASK_NAME.test(task) && isJson(json, 0);
  const { args: jsonArgs, options: opts }: { args: unknown; options: z.output<typeof jobOptionsSchema> } = plain
    ? { args: json, options: {} }
    : parseOrThrow(newJobSchema, { queue, task, args: json, options: normalizeRunAt(options ?? {}) });
  const argsText = JSON.stringify(jsonArgs);
  // UTF-8 takes at most three bytes per UTF-16 unit: only long args need counting
  if (argsText.length * 3 > limits.maxArgsBytes && byteLength(argsText) > limits.maxArgsBytes) {
    throw new ValidationError([
      { field: "args", message: `is ${byteLength(argsText)} bytes of JSON; the limit is ${limits.maxArgsBytes}` },
    ]);
  }
  const id = opts.id ?? crypto.randomUUID();
  const runAt = scheduledAt(opts, limits.now);
  const fields = [
    "id",
    id,
    "queue",
    queue,
    "task",
    task,
    "args",
    argsText,
    "meta",
    opts.meta ? JSON.stringify(opts.meta) : "{}",
    "createdAt",
    String(limits.now),
    "attempts",
    "0",
    "timeoutMs",
    String(opts.timeoutMs ?? DEFAULTS.timeoutMs),
    "resultTtlSec",
    String(opts.resultTtlSec ?? DEFAULTS.resultTtlSec),
    "failureTtlSec",
    String(opts.failureTtlSec ?? DEFAULTS.failureTtlSec),
  ];
  const optional: [string, string | number | undefined][] = [
    ["ttlSec", opts.ttlSec],
    ["retry", opts.retry && JSON.stringify(opts.retry)],
    ["dependsOn", opts.dependsOn && JSON.stringify(opts.dependsOn)],
    ["atFront", opts.atFront ? 1 : undefined],
    ["priority", opts.priority],
    ["callbackUrl", opts.callbackUrl],
    ["group", opts.group],
  ];
  for (const [field, value] of optional) if (value !== undefined) fields.push(field, String(value));
  const { atFront, priority, dependsOn, group, debounce, dedupe } = opts;
  const freshId = opts.id === undefined ? (true as const) : undefined;
  return { id, queue, fields, freshId, runAt, atFront, priority, dependsOn, group, debounce, dedupe };
}

/** Deeper args are left to the schema, whose checks recurse too. */
const FAST_JSON_DEPTH = 64;

/**
 * Whether a value is surely what jsonValueSchema accepts, and what JSON.stringify writes unchanged: strings, finite
 * numbers, booleans, null, arrays and plain objects of them. False when unsure, never when the schema would refuse.
 */
function isJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth >= FAST_JSON_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isJson(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      // the schema skips __proto__ and refuses symbol keys
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const key in value) {
        if (key === "__proto__" || !isJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// One schema for the whole job, so a refusal names every bad field at once.
const newJobSchema = z.object({
  queue: queueNameSchema,
  task: taskNameSchema,
  args: jsonValueSchema,
  options: jobOptionsSchema,
});

function normalizeRunAt(options: JobOptions): unknown {
  return options.runAt instanceof Date ? { ...options, runAt: options.runAt.getTime() } : options;
}

const num = (v: string | undefined) => (v === undefined || v === "" ? null : Number(v));
const json = <T>(v: string | undefined, fallback: T): T => (v === undefined ? fallback : (JSON.parse(v) as T));

/** Reads a job hash as the scripts return it (strings, or values already parsed by @upstash/redis). */
export function jobFromHash(raw: Record<string, unknown>): Job {
  const h: Record<string, string> = {};
  // @upstash/redis may hand back nested values already parsed; undo that so
  // every field reads the same from both clients.
  for (const [k, v] of Object.entries(raw)) h[k] = typeof v === "string" ? v : JSON.stringify(v);
  return {
    id: h.id!,
    queue: h.queue!,
    task: h.task!,
    status: h.status as JobStatus,
    args: json(h.args, null),
    meta: json(h.meta, {}),
    result: json(h.result, null),
    error: json(h.error, null),
    attempts: num(h.attempts) ?? 0,
    createdAt: num(h.createdAt)!,
    enqueuedAt: num(h.enqueuedAt),
    startedAt: num(h.startedAt),
    endedAt: num(h.endedAt),
    progress: json(h.progress, null),
    callback: h.callbackStatus
      ? {
          status: h.callbackStatus as CallbackState["status"],
          attempts: num(h.callbackAttempts) ?? 0,
          lastError: h.callbackError ?? null,
        }
      : null,
    timeoutMs: num(h.timeoutMs) ?? DEFAULTS.timeoutMs,
    resultTtlSec: num(h.resultTtlSec) ?? DEFAULTS.resultTtlSec,
    failureTtlSec: num(h.failureTtlSec) ?? DEFAULTS.failureTtlSec,
    ttlSec: num(h.ttlSec),
    retry: json(h.retry, null),
    runAt: num(h.runAt),
    dependsOn: json(h.dependsOn, []),
    atFront: h.atFront === "1",
    priority: num(h.priority),
    callbackUrl: h.callbackUrl ?? null,
    group: h.group ?? null,
    stepCount: num(h.steps) ?? 0,
    waitingFor: h.waitEvent
      ? { event: h.waitEvent, key: h.waitKey || null, until: num(h.waitUntil)! }
      : h.waitFor
        ? { child: h.waitFor }
        : null,
    ...(h.recorded !== undefined && { steps: stepsOf(json(h.recorded, [])) }),
    workerName: h.workerName ?? null,
    claims: num(h.claims) ?? 0,
    stopRequested: h.stopRequested === "1",
    ...(h.traceparent !== undefined && { traceparent: h.traceparent }),
    ...(h.tracestate !== undefined && { tracestate: h.tracestate }),
  };
}

/** The view's fields, in the order a reader expects them. */
export function viewOf(job: Job): JobView {
  return {
    id: job.id,
    queue: job.queue,
    task: job.task,
    status: job.status,
    args: job.args,
    meta: job.meta,
    result: job.result,
    error: job.error,
    attempts: job.attempts,
    createdAt: job.createdAt,
    enqueuedAt: job.enqueuedAt,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    progress: job.progress,
    dependsOn: job.dependsOn,
    callback: job.callback,
    group: job.group,
    stepCount: job.stepCount,
    waitingFor: job.waitingFor,
    ...(job.steps && { steps: job.steps }),
    ...(job.traceparent && { traceId: traceIdOf(job.traceparent) }),
  };
}

/** The steps hash as a script answers it (flat: id, JSON, id, JSON …; cjson writes {} as []), in recorded order. */
function stepsOf(flat: string[]): StepView[] {
  const steps: StepView[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const entry = JSON.parse(flat[i + 1]!) as Omit<StepView, "id">;
    steps.push({ id: flat[i]!, ...entry });
  }
  return steps.sort((a, b) => a.n - b.n);
}
