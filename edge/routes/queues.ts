// Queues: counts per status, settings and the workers listening, for
// dashboards. A key limited to some queues is answered from those alone, so
// it never pays for (or learns of) the others.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { queueNameSchema, type QueueInfo, type QueuesPage } from "../../shared/index.ts";
import type { AppEnv } from "../context.ts";
import { can, requireScope, type Principal } from "../auth.ts";
import { validationHook } from "../problem.ts";
import { BEARER, json, problems, queueParams, queueSchema } from "../schemas.ts";

export const queues = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const outboxSchema = z
  .object({ size: z.number().int(), oldestAt: z.number().int().nullable() })
  .describe("callback deliveries waiting or in flight, and when the oldest was created (admin keys only)");

queues.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues",
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
    let page: QueuesPage;
    if (principal.queues) {
      const names = [...principal.queues].sort().filter((q) => !cursor || q > cursor);
      const named = names.slice(0, limit);
      page = await c.var.store.describe({ queues: named });
      page.nextCursor = names.length > named.length ? named.at(-1)! : null;
    } else {
      page = await c.var.store.describe({ cursor, limit });
    }
    const { queues: list, nextCursor, outbox } = page;
    const admin = can(principal, "admin");
    return c.json({ queues: list.map((q) => redacted(q, principal)), nextCursor, ...(admin && { outbox }) }, 200);
  },
);

queues.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues/{queue}",
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
    return c.json(redacted(info!, c.var.principal), 200);
  },
);

/**
 * Worker names, hosts and pids describe the fleet; a read key may sit in a
 * browser, so only admin keys see them. Others see how many workers there
 * are and what they are doing.
 */
function redacted(info: QueueInfo, principal: Principal): QueueInfo {
  if (can(principal, "admin")) return info;
  return {
    ...info,
    workers: info.workers.map((w) => ({ state: w.state, heartbeat: w.heartbeat }) as QueueInfo["workers"][number]),
  };
}
