// Jobs: enqueue one or a batch, read one (optionally waiting for the end),
// follow its status as server-sent events, cancel and requeue.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import {
  DEFAULTS,
  enqueueRequestSchema,
  isTerminal,
  JobNotFoundError,
  type JobView,
  type Reach,
  type Submitted,
  traceContextOf,
} from "../../shared/index.ts";
import type { AppEnv } from "../context.ts";
import { reaches, type Principal } from "../auth.ts";
import { requireScope } from "../bearer.ts";
import { sha256, toHex } from "../crypto.ts";
import { enqueueSpan } from "../enqueue-span.ts";
import { admitBatch, admitJob } from "../policy.ts";
import { validationHook } from "../problem.ts";
import { redactAttempts, redactJob } from "../redact.ts";
import {
  attemptSchema,
  BEARER,
  batchRequestSchema,
  enqueuedSchema,
  jobParams,
  jobSchema,
  json,
  problems,
  queueParams,
  stepSchema,
  traceHeaders,
} from "../schemas.ts";

// A stream's budget: a Worker may make only so many subrequests (50 on the
// free plan). It subscribes once and reads the job on each status change;
// past the budget (or the time) it ends, and the client resumes with
// Last-Event-ID, as a client does after any dropped stream.
const STREAM = { maxReads: 40, maxMs: 5 * 60_000, retryMs: 1_000 };

export const jobs = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const idempotencyHeaders = traceHeaders.extend({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, "must be 1-255 visible ASCII characters")
    .optional()
    .describe("makes retries safe: the same key and body return the first job (200), another body is refused (422)"),
});

jobs.openapi(
  createRoute({
    method: "post",
    path: "/v1/queues/{queue}/jobs",
    operationId: "enqueueJob",
    summary: "Enqueue a job",
    security: BEARER,
    middleware: [requireScope("enqueue")] as const,
    request: {
      params: queueParams,
      headers: idempotencyHeaders,
      body: { required: true, content: { "application/json": { schema: enqueueRequestSchema } } },
    },
    responses: {
      201: json(enqueuedSchema, "created; Location names the job"),
      200: json(
        enqueuedSchema,
        "an existing job: an idempotent replay, a client-chosen id that exists, or a debounce or dedupe key's job",
      ),
      ...problems(400, 401, 403, 409, 413, 415, 422, 503),
    },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const request = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const idempotency = key === undefined ? undefined : { key, fingerprint: await fingerprint(request) };
    const admitted = admitJob(c.var.principal, request);
    await c.var.store.checkTasks(queue, [admitted], () => "");
    const received = traceContextOf((name) => c.req.header(name));
    const [submitted] = await enqueueSpan(queue, [admitted.task], received, (trace) =>
      c.var.store.queue(queue).submit([admitted], idempotency, reachOf(c.var.principal), trace),
    );
    const { created } = submitted!;
    const job = enqueued(submitted!, c.var.principal);
    c.header("Location", jobPath(job.id));
    if (key !== undefined) {
      c.header("Idempotency-Key", key);
      if (!created) c.header("Idempotent-Replayed", "true");
    }
    return created ? c.json(job, 201) : c.json(job, 200);
  },
);

jobs.openapi(
  createRoute({
    method: "post",
    path: "/v1/queues/{queue}/jobs/batch",
    operationId: "enqueueJobs",
    summary: "Enqueue up to 100 jobs at once: all or none",
    security: BEARER,
    middleware: [requireScope("enqueue")] as const,
    request: {
      params: queueParams,
      headers: traceHeaders,
      body: { required: true, content: { "application/json": { schema: batchRequestSchema } } },
    },
    responses: {
      201: json(
        z.object({ jobs: z.array(enqueuedSchema) }),
        "the jobs, in order (existing ones for client-chosen ids that exist, and for debounce and dedupe keys)",
      ),
      ...problems(400, 401, 403, 409, 413, 415, 422, 503),
    },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const admitted = admitBatch(c.var.principal, c.req.valid("json").jobs);
    await c.var.store.checkTasks(queue, admitted, (i) => `jobs.${i}`);
    const received = traceContextOf((name) => c.req.header(name));
    const submitted = await enqueueSpan(
      queue,
      admitted.map((job) => job.task),
      received,
      (trace) => c.var.store.queue(queue).submit(admitted, undefined, reachOf(c.var.principal), trace),
    );
    return c.json({ jobs: submitted.map((s) => enqueued(s, c.var.principal)) }, 201);
  },
);

jobs.openapi(
  createRoute({
    method: "get",
    path: "/v1/jobs/{id}",
    operationId: "getJob",
    summary: "Get a job, optionally waiting until it ends",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: {
      params: jobParams,
      query: z.object({
        wait: z.coerce
          .number()
          .min(0)
          .max(DEFAULTS.maxWaitSec)
          .optional()
          .describe("seconds to wait for a terminal status; the job as it is then"),
      }),
    },
    responses: { 200: json(jobSchema, "the job"), ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { wait } = c.req.valid("query");
    // subscribed to the job's channel, then read: three Redis commands when it ends during the wait
    const job = wait
      ? await c.var.store.waitForJob(id, {
          timeoutMs: wait * 1000,
          signal: c.req.raw.signal,
          visible: (found) => reaches(c.var.principal, found.queue),
        })
      : await getVisibleJob(c, id);
    return c.json(redactJob(job, c.var.principal), 200);
  },
);

jobs.openapi(
  createRoute({
    method: "get",
    path: "/v1/jobs/{id}/events",
    operationId: "followJob",
    summary: "Follow a job's status as server-sent events",
    description:
      "One `status` event (data: the job) per change, until a terminal status, then the stream ends; " +
      "`progress` events (data: { progress, meta }) as the task reports them, " +
      "`step` events (data: { step, n }) as a durable task records each step, " +
      "`log` events (data: { log: lines written so far }) as its log lines are written (read them, admin keys " +
      "only, from GET /v1/jobs/{id}/logs). " +
      "Browsers read it with fetch() and a streaming response body, not EventSource: EventSource cannot send " +
      "the Authorization header. A stream that ends before a terminal status is resumed by asking again with " +
      "Last-Event-ID set to the last event's id; naming a terminal state, the answer is 204.",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: { params: jobParams },
    responses: {
      200: { description: "an event stream", content: { "text/event-stream": { schema: z.string() } } },
      204: { description: "the client has already seen the job's terminal status" },
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const first = await getVisibleJob(c, id);
    let seen = c.req.header("Last-Event-ID") ?? "";
    if (isTerminal(first.status) && seen === eventId(first)) return c.body(null, 204);
    return streamSSE(c, async (stream) => {
      let aborted = false;
      let wake = () => {};
      const changes: string[] = [];
      const follow = c.var.store.followJob(id, (message) => {
        changes.push(message);
        wake();
      });
      stream.onAbort(() => {
        aborted = true;
        wake();
      });
      const until = Date.now() + STREAM.maxMs;
      try {
        await follow.ready;
        // read once the subscription stands, so no change between the first read and now is missed
        let job: JobView | null = await getVisibleJob(c, id);
        for (let reads = 1; job && !aborted; ) {
          if (eventId(job) !== seen) {
            seen = eventId(job);
            const data = JSON.stringify(redactJob(job, c.var.principal));
            await stream.writeSSE({ event: "status", id: seen, data, retry: STREAM.retryMs });
          }
          if (isTerminal(job.status) || reads >= STREAM.maxReads) break;
          if (changes.length === 0) {
            const left = until - Date.now();
            if (left <= 0) break;
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, left);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
          let statusChanged = false;
          for (const message of changes.splice(0)) {
            // progress and steps arrive whole in their message; a status change needs the job read
            if (message.startsWith('{"step"')) await stream.writeSSE({ event: "step", data: message });
            else if (message.startsWith('{"log"')) await stream.writeSSE({ event: "log", data: message });
            else if (message.startsWith("{")) await stream.writeSSE({ event: "progress", data: message });
            else statusChanged = true;
          }
          if (statusChanged) {
            job = await c.var.store.getJob(id);
            reads++;
          }
        }
      } catch (error) {
        console.error(JSON.stringify({ level: "error", requestId: c.var.requestId, error: String(error) }));
        await stream.writeSSE({ event: "error", data: JSON.stringify({ title: "Internal Server Error" }) });
      } finally {
        await follow.close().catch(() => {});
      }
    });
  },
);

jobs.openapi(
  createRoute({
    method: "delete",
    path: "/v1/jobs/{id}",
    operationId: "cancelJob",
    summary: "Cancel a waiting job, or ask the worker running it to stop",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: { params: jobParams },
    responses: {
      200: json(jobSchema, "canceled"),
      202: json(jobSchema, "started: its worker has been asked to stop it"),
      ...problems(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { queue } = await getVisibleJob(c, id);
    const job = redactJob(await c.var.store.queue(queue).cancel(id), c.var.principal);
    return job.status === "started" ? c.json(job, 202) : c.json(job, 200);
  },
);

jobs.openapi(
  createRoute({
    method: "post",
    path: "/v1/jobs/{id}/requeue",
    operationId: "requeueJob",
    summary: "Put a failed, stopped or canceled job back in its queue",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: { params: jobParams },
    responses: { 200: json(jobSchema, "queued again"), ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { queue } = await getVisibleJob(c, id);
    return c.json(redactJob(await c.var.store.queue(queue).requeue(id), c.var.principal), 200);
  },
);

jobs.openapi(
  createRoute({
    method: "get",
    path: "/v1/jobs/{id}/attempts",
    operationId: "listAttempts",
    summary: "A job's attempts, newest first: the one it is on (or ended with), then the earlier ones kept",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: { params: jobParams },
    responses: {
      200: json(z.object({ attempts: z.array(attemptSchema) }), "the attempts"),
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const job = await getVisibleJob(c, id);
    const attempts = await c.var.store.queue(job.queue).attempts(id);
    if (!attempts) throw new JobNotFoundError(id);
    return c.json({ attempts: redactAttempts(attempts, job, c.var.principal) }, 200);
  },
);

jobs.openapi(
  createRoute({
    method: "get",
    path: "/v1/jobs/{id}/steps",
    operationId: "listSteps",
    summary: "A durable job's recorded steps, in the order its task recorded them",
    description: "Each step's result is shown to admin keys only, as stacks are.",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: { params: jobParams },
    responses: {
      200: json(z.object({ steps: z.array(stepSchema) }), "the steps (none for a job that records none)"),
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const job = redactJob(await getVisibleJob(c, id), c.var.principal);
    return c.json({ steps: job.steps ?? [] }, 200);
  },
);

/** A key limited to some queues may make its jobs depend only on jobs in them. */
function reachOf(principal: Principal): Reach | undefined {
  return principal.queues ? { queues: [...principal.queues] } : undefined;
}

/** The job, when the caller's key reaches its queue; 404 otherwise, so ids of other queues cannot be probed. */
export async function getVisibleJob(c: Context<AppEnv>, id: string): Promise<JobView> {
  const job = await c.var.store.getJob(id);
  if (!job || !reaches(c.var.principal, job.queue)) throw new JobNotFoundError(id);
  return job;
}

function jobPath(id: string): string {
  return `/v1/jobs/${encodeURIComponent(id)}`;
}

/** One event per status, and per attempt: a retried job goes started → queued → started. */
function eventId(job: JobView): string {
  return `${job.status}.${job.attempts}`;
}

/** A digest of the request with its keys sorted, so a retry that orders them differently still matches. */
async function fingerprint(value: unknown): Promise<string> {
  return toHex(await sha256(JSON.stringify(value, (_key, v: unknown) => sorted(v))));
}

function sorted(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** An enqueued job as its caller may see it, with how a debounce or dedupe key answered the call. */
function enqueued({ job, debounced, deduplicated }: Submitted, principal: Principal) {
  return { ...redactJob(job, principal), ...(debounced && { debounced }), ...(deduplicated && { deduplicated }) };
}
