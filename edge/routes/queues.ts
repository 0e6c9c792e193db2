// Queues: counts per status, settings and the workers listening, for
// dashboards. A key limited to some queues is answered from those alone, so
// it never pays for (or learns of) the others.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { queueNameSchema, TERMINAL_STATUSES, type QueueInfo } from "../../shared/index.ts";
import type { AppEnv } from "../context.ts";
import { can } from "../auth.ts";
import { requireScope } from "../bearer.ts";
import { validationHook } from "../problem.ts";
import { redactJob, redactQueue } from "../redact.ts";
import { BEARER, jobSchema, json, limitSchema, problems, queueParams, queueSchema, statusQuery } from "../schemas.ts";

export const queues = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const outboxSchema = z
  .object({ size: z.number().int(), oldestAt: z.number().int().nullable() })
  .describe("callback deliveries waiting or in flight, and when the oldest was created (admin keys only)");

queues.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues",
    operationId: "listQueues",
    summary: "The queues the key reaches, a page at a time by name",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: {
      query: z.object({
        cursor: queueNameSchema.optional().describe("nextCursor of the previous page"),
        limit: z.coerce.number().int().min(1).max(200).optional().describe("queues per page (default 100)"),
      }),
    },
    responses: {
      200: json(
        z.object({ queues: z.array(queueSchema), nextCursor: z.string().nullable(), outbox: outboxSchema.optional() }),
        "the queues, by name",
      ),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { cursor, limit = 100 } = c.req.valid("query");
    const principal = c.var.principal;
    const { queues: list, nextCursor, outbox } = await c.var.store.describeVisible(principal.queues, { cursor, limit });
    const admin = can(principal, "admin");
    return c.json({ queues: list.map((q) => redactQueue(q, principal)), nextCursor, ...(admin && { outbox }) }, 200);
  },
);

queues.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues/{queue}",
    operationId: "getQueue",
    summary: "One queue (zero counts when it was never used)",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: { params: queueParams },
    responses: { 200: json(queueSchema, "the queue"), ...problems(400, 401, 403) },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const {
      queues: [info],
    } = await c.var.store.describe({ queues: [queue] });
    return c.json(redactQueue(info!, c.var.principal), 200);
  },
);

queues.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues/{queue}/jobs",
    operationId: "listJobs",
    summary: "A page of a queue's jobs in one status",
    description:
      "queued in the order workers will take them, scheduled by due time, started by lease, deferred by age, " +
      "finished, failed, stopped and canceled newest first. Pass nextCursor back as cursor for the next page.",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: {
      params: queueParams,
      query: z.object({
        status: statusQuery,
        limit: z.coerce.number().int().min(1).max(200).optional().describe("jobs per page (default 50)"),
        cursor: z.string().max(200).optional(),
      }),
    },
    responses: {
      200: json(z.object({ jobs: z.array(jobSchema), nextCursor: z.string().nullable() }), "the page"),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const { status, limit, cursor } = c.req.valid("query");
    const page = await c.var.store.queue(queue).list(status, { limit, cursor });
    return c.json({ ...page, jobs: page.jobs.map((job) => redactJob(job, c.var.principal)) }, 200);
  },
);

queues.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues/{queue}/throughput",
    operationId: "getThroughput",
    summary: "Jobs a queue finished and failed in each of the last minutes, oldest first",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: {
      params: queueParams,
      query: z.object({ minutes: z.coerce.number().int().min(1).max(120).optional().describe("default 60") }),
    },
    responses: {
      200: json(
        z.object({
          since: z.number().int().describe("epoch ms of the first minute"),
          finished: z.array(z.number().int()),
          failed: z.array(z.number().int()),
        }),
        "one entry per minute",
      ),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const { minutes = 60 } = c.req.valid("query");
    return c.json(await c.var.store.queue(queue).throughput(minutes), 200);
  },
);

const settingsBody = z
  .strictObject({
    paused: z.boolean().optional(),
    limit: limitSchema
      .nullable()
      .optional()
      .describe("at most max jobs started in any window of perMs, across the fleet; null removes it"),
    concurrency: z.number().int().nullable().optional().describe("null removes it"),
    groups: z
      .strictObject({ concurrency: z.number().int().optional(), limit: limitSchema.optional() })
      .nullable()
      .optional()
      .describe("the policy of each group of the queue unless it has its own, for each group apart; null removes it"),
    keep: z
      .strictObject({ finished: z.number().int().optional(), failed: z.number().int().optional() })
      .nullable()
      .optional()
      .describe("keep only the latest N finished (failed) jobs, beside their TTLs; null removes it"),
  })
  .meta({ id: "QueueSettings" });

queues.openapi(
  createRoute({
    method: "patch",
    path: "/v1/queues/{queue}",
    operationId: "updateQueue",
    summary: "Change a queue's settings: paused, rate limit, fleet-wide concurrency, its groups' default policy",
    description: "Stored in Redis and decided inside every claim, so the whole fleet obeys at once.",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: {
      params: queueParams,
      body: { required: true, content: { "application/json": { schema: settingsBody } } },
    },
    responses: { 200: json(queueSchema, "the queue"), ...problems(400, 401, 403, 415, 422) },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const { paused, ...rest } = c.req.valid("json");
    await c.var.store.queue(queue).configure({ ...rest, ...(paused !== undefined && { paused: paused || null }) });
    return c.json(await described(c.var.store, queue), 200);
  },
);

for (const [action, paused] of [
  ["pause", true],
  ["resume", false],
] as const) {
  queues.openapi(
    createRoute({
      method: "post",
      path: `/v1/queues/{queue}/${action}`,
      operationId: `${action}Queue`,
      summary: paused ? "Pause a queue: it takes jobs, no worker claims from it" : "Resume a paused queue",
      security: BEARER,
      middleware: [requireScope("admin")] as const,
      request: { params: queueParams },
      responses: { 200: json(queueSchema, "the queue"), ...problems(400, 401, 403) },
    }),
    async (c) => {
      const { queue } = c.req.valid("param");
      const target = c.var.store.queue(queue);
      await (paused ? target.pause() : target.resume());
      return c.json(await described(c.var.store, queue), 200);
    },
  );
}

// A request spends at most this many bounded script calls; `more` tells the caller to repeat.
const CHUNKS_PER_REQUEST = 20;
const chunkSchema = z.object({ count: z.number().int(), more: z.boolean() }).meta({ id: "BulkResult" });

queues.openapi(
  createRoute({
    method: "post",
    path: "/v1/queues/{queue}/requeue",
    operationId: "requeueJobsOfQueue",
    summary: "Put every failed (or stopped, or canceled) job of a queue back in it",
    description: "Works in bounded chunks; when more is true, call again for the rest.",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: {
      params: queueParams,
      query: z.object({ status: z.enum(["failed", "stopped", "canceled"]).optional().describe("default failed") }),
    },
    responses: { 200: json(chunkSchema, "how many were requeued"), ...problems(400, 401, 403) },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const { status } = c.req.valid("query");
    return c.json(await c.var.store.queue(queue).requeueAll(status, { chunks: CHUNKS_PER_REQUEST }), 200);
  },
);

queues.openapi(
  createRoute({
    method: "post",
    path: "/v1/queues/{queue}/empty",
    operationId: "emptyQueue",
    summary: "Cancel every queued job of a queue",
    description: "Works in bounded chunks; when more is true, call again for the rest.",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: { params: queueParams },
    responses: { 200: json(chunkSchema, "how many were canceled"), ...problems(400, 401, 403) },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    return c.json(await c.var.store.queue(queue).empty({ chunks: CHUNKS_PER_REQUEST }), 200);
  },
);

queues.openapi(
  createRoute({
    method: "post",
    path: "/v1/queues/{queue}/clean",
    operationId: "cleanQueue",
    summary: "Delete a queue's ended jobs older than a time",
    description: "Works in bounded chunks; when more is true, call again for the rest.",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: {
      params: queueParams,
      query: z.object({
        status: z.enum(TERMINAL_STATUSES),
        olderThanSec: z.coerce.number().int().min(0).describe("jobs that ended longer ago than this"),
        cursor: z.coerce.number().int().min(0).optional().describe("the cursor of the previous answer, to go on"),
      }),
    },
    responses: {
      200: json(
        chunkSchema.extend({ cursor: z.number().int().nullable().describe("pass it back to go on; null when done") }),
        "how many were deleted",
      ),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const { status, olderThanSec, cursor } = c.req.valid("query");
    const chunk = await c.var.store
      .queue(queue)
      .clean(status, olderThanSec * 1000, { chunks: CHUNKS_PER_REQUEST, cursor });
    return c.json({ count: chunk.count, more: chunk.more, cursor: chunk.cursor ?? null }, 200);
  },
);

async function described(store: AppEnv["Variables"]["store"], queue: string): Promise<QueueInfo> {
  const {
    queues: [info],
  } = await store.describe({ queues: [queue] });
  return info!;
}
