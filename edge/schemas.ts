// The shapes the HTTP API speaks, for validation and for openapi.json. Request
// bodies are the producer API's own schemas (shared/job.ts); what is here
// describes responses and path parameters.
import { z } from "zod";
import { enqueueRequestSchema, jobIdSchema, jsonValueSchema, queueNameSchema, STATUSES } from "../shared/index.ts";

// z.json() is recursive, which the OpenAPI generator cannot walk; telling it
// the possible types instead keeps the document finite. additionalProperties
// says an object may have any keys: without it, client generators read an
// object with no properties as one with no keys, and no object could be args.
const jsonValue = jsonValueSchema;
z.globalRegistry.add(jsonValue, {
  type: ["object", "array", "string", "number", "boolean", "null"],
  additionalProperties: true,
  description: "any JSON value",
});

export const queueParams = z.object({ queue: queueNameSchema });

/** W3C Trace Context: kept with the jobs an enqueue makes, so each run's span is the caller's child. */
export const traceHeaders = z.object({
  traceparent: z
    .string()
    .optional()
    .describe("the caller's span (W3C Trace Context), kept with the job; a malformed one is ignored"),
  tracestate: z.string().optional().describe("kept beside a valid traceparent, up to 512 characters"),
});

/** The one status a listing shows, or a bulk action takes. */
export const statusQuery = z.enum(STATUSES);
export const jobParams = z.object({ id: jobIdSchema });

export const batchRequestSchema = z
  .strictObject({ jobs: z.array(enqueueRequestSchema).min(1).max(100) })
  .meta({ id: "BatchRequest" });

export const stepSchema = z
  .object({
    id: z.string(),
    n: z.number().int().describe("its place among the job's steps, from 1"),
    startedAt: z.number().int().describe("epoch ms"),
    endedAt: z.number().int().describe("epoch ms: when its function returned and it was recorded"),
    result: jsonValue.optional().describe("what its function returned (admin keys only)"),
  })
  .meta({ id: "Step" });

export const jobSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    task: z.string(),
    status: z.enum(STATUSES),
    args: jsonValue,
    meta: z.record(z.string(), jsonValue),
    result: jsonValue.nullable(),
    error: z.object({ name: z.string(), message: z.string(), stack: z.string().optional() }).nullable(),
    attempts: z.number().int(),
    createdAt: z.number().int().describe("epoch ms"),
    enqueuedAt: z.number().int().nullable(),
    startedAt: z.number().int().nullable(),
    endedAt: z.number().int().nullable(),
    progress: jsonValue.nullable().describe("what the task last reported with ctx.progress()"),
    dependsOn: z.array(z.string()).describe("the jobs it waited or waits for"),
    callback: z
      .object({
        status: z.enum(["pending", "delivered", "refused", "failed"]),
        attempts: z.number().int(),
        lastError: z.string().nullable(),
      })
      .nullable()
      .describe("the delivery to its callbackUrl, once it ended"),
    group: z.string().nullable().describe("the group within its queue that claims take turns over"),
    stepCount: z.number().int().describe("how many durable steps (ctx.step) its task has recorded"),
    waitingFor: z
      .union([
        z.object({ event: z.string(), key: z.string().nullable(), until: z.number().int() }),
        z.object({ child: z.string() }),
      ])
      .nullable()
      .describe("what a suspended durable job waits for: an event (until its timeout), or a child job it invoked"),
    steps: z
      .array(stepSchema)
      .optional()
      .describe("the recorded steps, in order: on a read of one job, not in listings"),
    traceId: z
      .string()
      .optional()
      .describe("the trace it was enqueued in (from its traceparent), when it was enqueued in one"),
  })
  .meta({ id: "Job" });

/** An enqueue's answer: the job, and whether the call was gathered into one that waits. */
export const enqueuedSchema = jobSchema
  .extend({
    debounced: z
      .literal(true)
      .optional()
      .describe("the call was gathered into this waiting job by its debounce key: args replaced, start moved"),
    deduplicated: z.literal(true).optional().describe("the call was answered with the job its dedupe key made"),
  })
  .meta({ id: "EnqueuedJob" });

/** At most max starts in any window of perMs (ranges are checked by the producer API: 422). */
export const limitSchema = z.strictObject({ max: z.number().int(), perMs: z.number().int() });

/** A group's policy as stored and as it is obeyed. */
export const groupPolicySchema = z
  .object({
    concurrency: z.number().int().optional().describe("at most this many of the group's jobs started at once"),
    limit: limitSchema.optional().describe("at most max of the group's jobs started in any window of perMs"),
    paused: z.boolean().optional().describe("no worker claims the group's jobs"),
  })
  .meta({ id: "GroupPolicy" });

export const attemptSchema = z
  .object({
    attempt: z.number().int(),
    status: z.enum(STATUSES),
    worker: z.string().nullable(),
    startedAt: z.number().int().nullable(),
    endedAt: z.number().int().nullable(),
    result: jsonValue.nullable(),
    error: z.object({ name: z.string(), message: z.string(), stack: z.string().optional() }).nullable(),
    lost: z
      .boolean()
      .describe("its worker's lease ran out and recovery ended it; what that worker reported later was refused"),
  })
  .meta({ id: "Attempt" });

export const jobLogSchema = z
  .object({
    lines: z.array(
      z
        .object({
          n: z.number().int().describe("the line's number among every line the job wrote, from 0"),
          at: z.number().int().describe("epoch ms: when the task wrote it"),
          attempt: z.number().int().describe("the attempt that wrote it"),
          text: z.string(),
          level: z.string().optional().describe("a ctx.logger line's level"),
        })
        .meta({ id: "LogLine" }),
    ),
    total: z.number().int().describe("lines the job has written in all"),
    dropped: z.number().int().describe("the oldest lines, no longer kept"),
    nextOffset: z.number().int().describe("the offset of the next page (total, once this one reaches the end)"),
  })
  .meta({ id: "JobLog" });

export const queueSchema = z
  .object({
    name: z.string(),
    counts: z.record(z.enum(STATUSES), z.number().int()),
    paused: z.boolean().describe("a paused queue takes jobs but no worker claims from it"),
    limit: z
      .object({ max: z.number().int(), perMs: z.number().int() })
      .optional()
      .describe("at most max jobs started in any window of perMs, across the fleet"),
    concurrency: z.number().int().optional().describe("at most this many jobs started at once, across the fleet"),
    groups: groupPolicySchema.optional().describe("the policy of each group unless it has its own"),
    keep: z
      .object({ finished: z.number().int().optional(), failed: z.number().int().optional() })
      .optional()
      .describe("only the latest N finished (failed) jobs are kept"),
    workers: z
      .array(z.looseObject({ state: z.string(), heartbeat: z.number() }))
      .describe("live workers on the queue; names, hosts and pids only for admin keys"),
    tasks: z
      .array(
        z.object({
          name: z.string(),
          args: z.looseObject({}).nullable().describe("JSON Schema of the args; null: any args"),
          declaredAt: z.number().int(),
        }),
      )
      .optional()
      .describe(
        "for one queue and admin keys: the tasks its workers declared in the last day; the edge refuses others (422)",
      ),
  })
  .meta({ id: "Queue" });

export const problemSchema = z
  .object({
    type: z.string().describe("a URI naming the kind of problem"),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "invalid request: malformed JSON, a bad field, name or id",
  401: "missing or invalid API key (or webhook signature)",
  403: "the API key lacks the scope or the queue",
  404: "no such job (or not visible to this key), hook or route",
  409: "the job's status does not allow this, or its id is taken in another queue",
  413: "the body is larger than MAX_BODY_BYTES",
  415: "the body is not JSON",
  422:
    "Idempotency-Key reused with a different request, an option this API key may not set, " +
    "or limits out of range (a concurrency below 1, a window past a day)",
  429: "this API key's request limit is spent; Retry-After says when to try again",
  503:
    "Redis is out of memory (maxmemory reached under noeviction: nothing was written; try again later), or the " +
    "write is not on as many replicas as EDGEQ_WAIT_REPLICAS asks (the job may exist: retry with the same id or " +
    "Idempotency-Key)",
};

/** Problem responses of a route, for its OpenAPI entry. */
export function problems<const S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: PROBLEM_DESCRIPTIONS[s] ?? "error",
        content: { "application/problem+json": { schema: problemSchema } },
      },
    ]),
  ) as Record<S, { description: string; content: { "application/problem+json": { schema: typeof problemSchema } } }>;
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** Routes that need `Authorization: Bearer <key>`. */
export const BEARER = [{ apiKey: [] }];
