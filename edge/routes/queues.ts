// Queues: counts per status and the workers listening, for dashboards.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { QueueInfo } from "../../shared/index.ts";
import type { AppEnv } from "../context.ts";
import { can, reaches, requireScope, type Principal } from "../auth.ts";
import { validationHook } from "../problem.ts";
import { BEARER, json, problems, queueParams, queueSchema } from "../schemas.ts";

export const queues = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

queues.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues",
    summary: "Every queue the key reaches",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    responses: { 200: json(z.object({ queues: z.array(queueSchema) }), "the queues, by name"), ...problems(401, 403) },
  }),
  async (c) => {
    const all = await c.var.store.describe();
    const principal = c.var.principal;
    return c.json({ queues: all.filter((q) => reaches(principal, q.name)).map((q) => redacted(q, principal)) }, 200);
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
    const [info] = await c.var.store.describe([queue]);
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
