// The job: its schema, its validation, and how it is stored in a Redis hash.
// A job is data, never code: a task name the worker has registered, and JSON
// arguments.
import { z } from "zod";
import { DEFAULTS, PREFIX } from "./defaults.ts";
import { ValidationError, type FieldIssue } from "./errors.ts";
import type { JobStatus } from "./status.ts";

export const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const JOB_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
export const TASK_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

const DAY_MS = 24 * 3600 * 1000;
const YEAR_SEC = 365 * 24 * 3600;

export const queueNameSchema = z
  .string()
  .regex(QUEUE_NAME, "must be 1-64 characters of letters, digits, '_', '.' or '-'");
export const jobIdSchema = z
  .string()
  .regex(JOB_ID, "must be 1-128 characters of letters, digits, '_', '.', ':' or '-'");
export const taskNameSchema = z
  .string()
  .regex(TASK_NAME, "must be 1-128 characters of letters, digits, '_', '.', ':' or '-'");

/** A group within a queue (a tenant, a user, an API key): the id alphabet. */
export const groupNameSchema = jobIdSchema;

/** A debounce or dedupe key: the id alphabet too. */
const flowKeySchema = jobIdSchema;

export const debounceSchema = z.strictObject({
  key: flowKeySchema,
  delayMs: z.number().int().min(0).max(DAY_MS).describe("the job starts this long after the latest call"),
  maxDelayMs: z
    .number()
    .int()
    .min(0)
    .max(DEFAULTS.maxDelaySec * 1000)
    .optional()
    .describe("at the latest this long after the first call, however many follow"),
});

export const dedupeSchema = z.strictObject({
  key: flowKeySchema,
  ttlMs: z
    .number()
    .int()
    .min(1)
    .max(DEFAULTS.maxDelaySec * 1000)
    .describe("how long the key answers the first job"),
});

export const prefixSchema = z.string().regex(PREFIX, "must be 1-64 letters, digits, '_', '.', ':' or '-'");

/** Any JSON value; one instance, so tools that annotate it (OpenAPI) do it once. */
export const jsonValueSchema = z.json();

export const retrySchema = z.strictObject({
  max: z.number().int().min(0).max(DEFAULTS.maxRetries).describe("retries after the first attempt"),
  backoff: z
    .strictObject({
      type: z.enum(["fixed", "exponential"]),
      delayMs: z.number().int().min(0).max(DAY_MS),
    })
    .optional(),
});

/** The job options, field by field (jobOptionsSchema adds the checks across fields). */
export const jobOptionsFields = z.strictObject({
  id: jobIdSchema.optional().describe("client-chosen id; enqueuing the same id again returns the existing job"),
  timeoutMs: z.number().int().min(1).max(DEFAULTS.maxTimeoutMs).optional(),
  resultTtlSec: z.number().int().min(1).max(YEAR_SEC).optional(),
  failureTtlSec: z
    .number()
    .int()
    .min(1)
    .max(10 * YEAR_SEC)
    .optional(),
  ttlSec: z.number().int().min(1).max(YEAR_SEC).optional().describe("max time waiting in the queue"),
  retry: retrySchema.optional(),
  runAt: z
    .union([z.number().int().min(0), z.iso.datetime({ offset: true })])
    .optional()
    .describe("epoch ms or an ISO 8601 date-time, at most a year ahead"),
  delayMs: z
    .number()
    .int()
    .min(0)
    .max(DEFAULTS.maxDelaySec * 1000)
    .optional(),
  dependsOn: z.array(jobIdSchema).max(100).optional(),
  atFront: z.boolean().optional(),
  priority: z
    .number()
    .int()
    .min(1)
    .max(DEFAULTS.maxPriority)
    .optional()
    .describe("1 is the highest; jobs without one come first, as in BullMQ; FIFO within a priority"),
  callbackUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  meta: z.record(z.string().max(128), jsonValueSchema).optional(),
  group: groupNameSchema.optional().describe("the group within its queue that claims take turns over"),
  debounce: debounceSchema
    .optional()
    .describe("while a job with this key waits, a new call replaces its args and moves its start"),
  dedupe: dedupeSchema.optional().describe("for ttlMs after a job with this key was made, a call answers it"),
});

export const jobOptionsSchema = jobOptionsFields
  .refine((o) => o.runAt === undefined || o.delayMs === undefined, {
    message: "give runAt or delayMs, not both",
    path: ["delayMs"],
  })
  .refine(
    (o) => !o.debounce || (o.runAt === undefined && o.delayMs === undefined && !o.dependsOn && o.id === undefined),
    {
      message:
        "sets the start (delayMs after the latest call) and id (the first call's): no runAt, delayMs, dependsOn, id",
      path: ["debounce"],
    },
  )
  .refine((o) => !o.debounce || !o.dedupe, { message: "give debounce or dedupe, not both", path: ["dedupe"] })
  // a job parked for decades is storage nobody will reclaim
  .refine((o) => o.runAt === undefined || scheduledAt(o, Date.now())! <= Date.now() + DEFAULTS.maxDelaySec * 1000, {
    message: `must be at most ${DEFAULTS.maxDelaySec / 86_400} days ahead`,
    path: ["runAt"],
  });

export type JobOptions = Omit<z.input<typeof jobOptionsSchema>, "runAt"> & { runAt?: number | string | Date };
export type JsonValue = z.infer<typeof jsonValueSchema>;

/** The body of `POST /v1/queues/:queue/jobs`, and one entry of a batch. */
export const enqueueRequestSchema = z.strictObject({
  task: taskNameSchema,
  args: jsonValueSchema.optional(),
  options: jobOptionsSchema.optional(),
});
export type EnqueueRequest = z.input<typeof enqueueRequestSchema>;

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
  stopRequested: boolean;
}

export function issuesOf(error: z.ZodError, root = ""): FieldIssue[] {
  const field = (path: PropertyKey[]) => [root, ...path.map(String)].filter(Boolean).join(".");
  return error.issues.flatMap((issue) =>
    // name each unknown field itself, not the object that holds it
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ field: field([...issue.path, key]), message: "is not a known field" }))
      : [{ field: field(issue.path), message: issue.message }],
  );
}

/** Parses with a schema, or throws a ValidationError naming every bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, root = ""): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, root));
  return parsed.data;
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
  return { id, queue, fields, runAt, atFront, priority, dependsOn, group, debounce, dedupe };
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

/** When options put a job off, epoch ms; undefined when they do not. */
export function scheduledAt(options: { runAt?: number | string; delayMs?: number }, now: number): number | undefined {
  if (options.delayMs !== undefined) return now + options.delayMs;
  return typeof options.runAt === "string" ? Date.parse(options.runAt) : options.runAt;
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
    workerName: h.workerName ?? null,
    stopRequested: h.stopRequested === "1",
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
  };
}
