// Events that durable jobs wait for (ctx.waitForEvent): sending one to a
// queue resumes its jobs that wait for it, within the request's budget.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { eventNameSchema, jsonValueSchema, queueNameSchema } from "../../shared/index.ts";
import { requireScope } from "../bearer.ts";
import type { AppEnv } from "../context.ts";
import { validationHook } from "../problem.ts";
import { BEARER, json, problems } from "../schemas.ts";

export const events = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

// A request spends at most this many bounded script calls; `more` tells the caller to send it again.
const CHUNKS_PER_REQUEST = 20;

events.openapi(
  createRoute({
    method: "post",
    path: "/v1/queues/{queue}/events/{event}",
    operationId: "sendEvent",
    summary: "Send an event to a queue: its jobs that wait for it go on with its data",
    description:
      "Resumes the queue's jobs that wait (ctx.waitForEvent) for this event with this key, and those that wait " +
      "for the event whatever its key. An event no job waits for is dropped. Works in bounded chunks; when more " +
      "is true, jobs still wait for it: send it again.",
    security: BEARER,
    middleware: [requireScope("enqueue")] as const,
    request: {
      params: z.object({ queue: queueNameSchema, event: eventNameSchema }),
      body: {
        required: false,
        content: {
          "application/json": {
            schema: z
              .strictObject({
                key: eventNameSchema.optional().describe("resumes the jobs waiting for this key (and for any key)"),
                data: jsonValueSchema.optional().describe("what their waits answer (null when left out); ≤ 512 KiB"),
              })
              .meta({ id: "EventRequest" }),
          },
        },
      },
    },
    responses: {
      200: json(
        z.object({ resumed: z.number().int(), more: z.boolean() }).meta({ id: "EventSent" }),
        "how many waiting jobs it resumed",
      ),
      ...problems(400, 401, 403, 413, 415, 503),
    },
  }),
  async (c) => {
    const { queue, event } = c.req.valid("param");
    const { key, data } = c.req.valid("json") ?? {};
    return c.json(await c.var.store.queue(queue).sendEvent(event, { key, data, chunks: CHUNKS_PER_REQUEST }), 200);
  },
);
