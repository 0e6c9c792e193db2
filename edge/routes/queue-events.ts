// A queue's event stream as server-sent events: every transition of its jobs,
// resumable with Last-Event-ID within the window the stream keeps.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { queueEventIdSchema } from "../../shared/index.ts";
import { requireScope } from "../bearer.ts";
import type { AppEnv } from "../context.ts";
import { validationHook } from "../problem.ts";
import { redactQueueEvent } from "../redact.ts";
import { BEARER, problems, queueParams } from "../schemas.ts";

export const queueEvents = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

// A stream's budget, as a job's stream (routes/jobs.ts) has: a Worker may make only so many subrequests. Over REST
// nothing may block, so a stream polls (backing off to a read every 2 s while nothing happens); past its reads or
// its time it ends, and the client asks again with Last-Event-ID.
const STREAM = { maxReads: 40, maxMs: 5 * 60_000, retryMs: 1_000 };

queueEvents.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues/{queue}/events",
    operationId: "followQueueEvents",
    summary: "Follow every job of a queue as server-sent events",
    description:
      "One event per transition of one of the queue's jobs, named by its new status (`queued`, `scheduled`, " +
      "`deferred`, `awaiting`, `started`, `finished`, `failed`, `stopped`, `canceled`) or `progress`; its `id` is " +
      "the event's place in the stream and its data `{ id, status, from?, task?, attempt?, runAt?, progress?, " +
      "error? }`. The stream opens with a `ready` event whose id is where it starts. Ask again with Last-Event-ID " +
      "(or `?after=`) set to the last id seen to go on after it, within the last ~10,000 events of the queue; " +
      "when that event is no longer kept, a `gap` event comes first: events may have been missed. Streams end " +
      "after a while (a few minutes); resume them the same way.",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: {
      params: queueParams,
      query: z.object({
        after: queueEventIdSchema.optional().describe("go on after this event id; 0: from the oldest kept"),
      }),
      headers: z.object({
        "last-event-id": queueEventIdSchema.optional().describe("as `after`; wins over it"),
      }),
    },
    responses: {
      200: { description: "an event stream", content: { "text/event-stream": { schema: z.string() } } },
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const after = c.req.valid("header")["last-event-id"] ?? c.req.valid("query").after;
    const { store, principal } = c.var;
    return streamSSE(c, async (stream) => {
      const stop = new AbortController();
      stream.onAbort(() => stop.abort());
      const timer = setTimeout(() => stop.abort(), STREAM.maxMs);
      try {
        const from = after ?? (await store.queueEventsEnd(queue));
        await stream.writeSSE({ event: "ready", id: from, data: "{}", retry: STREAM.retryMs });
        const follow = { after: from, signal: stop.signal, maxReads: STREAM.maxReads - (after === undefined ? 1 : 0) };
        for await (const item of store.followQueueEvents(queue, follow)) {
          if (item.event === "gap") {
            await stream.writeSSE({ event: "gap", data: JSON.stringify({ after: item.after }) });
            continue;
          }
          const { eventId, event, ...data } = item;
          await stream.writeSSE({ event, id: eventId, data: JSON.stringify(redactQueueEvent(data, principal)) });
        }
      } catch (error) {
        console.error(JSON.stringify({ level: "error", requestId: c.var.requestId, error: String(error) }));
        await stream.writeSSE({ event: "error", data: JSON.stringify({ title: "Internal Server Error" }) });
      } finally {
        clearTimeout(timer);
      }
    });
  },
);
