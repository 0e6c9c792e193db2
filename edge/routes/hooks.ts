// Webhook intake: no API key (senders cannot send one); the signature is the
// credential. A verified delivery is enqueued under an id derived from a value
// its signature covers, and remembered for the hook's replay window apart from
// its job, so the sender's retries and any replay land on one job, run once.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { STATUSES, traceContextOf, type JobStatus, type JsonValue } from "../../shared/index.ts";
import type { AppEnv } from "../context.ts";
import { enqueueSpan } from "../enqueue-span.ts";
import { deliveryArgs, deliveryJobId, replayWindowSec, verifyDelivery } from "../signatures.ts";
import { nameAt } from "../payload.ts";
import { Problem, validationHook } from "../problem.ts";
import { json, problems, traceHeaders } from "../schemas.ts";

export const hooks = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

// A delivery spends at most this many bounded calls resuming the jobs that wait for its event.
const EVENT_CHUNKS = 20;

hooks.openapi(
  createRoute({
    method: "post",
    path: "/v1/hooks/{hook}",
    operationId: "receiveHook",
    summary: "Receive a webhook delivery",
    description:
      "Verifies the sender's signature (scheme per hook: standard, github, stripe, hmac) on the raw body, " +
      "then enqueues the hook's task with args { headers, body }. A delivery repeated within the hook's replay " +
      "window (a sender's retry, or a replay) answers 202 with the same job id and is not run again. " +
      "A hook with event sends the event its body names to the queue instead, or as well: jobs that wait for it " +
      "(ctx.waitForEvent) go on with the body as its data.",
    // no API key: the sender's signature over the body is the credential
    security: [],
    request: { params: z.object({ hook: z.string() }), headers: traceHeaders },
    responses: {
      202: json(
        z.object({
          id: z.string(),
          status: z
            .enum(STATUSES)
            .nullable()
            .describe("null when the hook enqueues no job, or the job of an earlier delivery is no longer kept"),
          resumed: z.number().int().optional().describe("for a hook with event: the waiting jobs it resumed"),
        }),
        "accepted (or already accepted)",
      ),
      ...problems(400, 401, 404, 413, 422, 503),
    },
  }),
  async (c) => {
    const { hook: name } = c.req.valid("param");
    // own keys only: "constructor" or "__proto__" must not find a hook
    const hook = Object.hasOwn(c.var.hooks, name) ? c.var.hooks[name] : undefined;
    if (!hook) throw new Problem(404, "hook-not-found", "No such hook", `no hook is named "${name}"`);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const headers = c.req.raw.headers;
    const { delivery } = await verifyDelivery(hook, headers, body);
    const id = await deliveryJobId(name, delivery);
    const store = c.var.store;
    const seen = await store.seenDelivery(id);
    if (seen.seen) return c.json({ id, status: seen.status }, 202);
    // enqueued (and its event sent) before it is remembered: if remembering fails, the sender's retry finds the job
    // by its id, and its event resumes no job twice
    const args = deliveryArgs(headers, body);
    const queue = store.queue(hook.queue);
    let status: JobStatus | null = null;
    if (hook.task !== undefined) {
      const group = hook.group === undefined ? undefined : nameAt(args.body, hook.group);
      const job = { task: hook.task, args, options: { id, meta: { hook: name, delivery }, ...(group && { group }) } };
      await store.checkTasks(hook.queue, [job], () => "");
      const received = traceContextOf((h) => headers.get(h));
      const [submitted] = await enqueueSpan(hook.queue, [job.task], received, (trace) =>
        queue.submit([job], undefined, undefined, trace),
      );
      status = submitted!.job.status;
    }
    const event = hook.event === undefined ? undefined : nameAt(args.body, hook.event);
    const key = hook.key === undefined ? undefined : nameAt(args.body, hook.key);
    const sent = event && (await queue.sendEvent(event, { key, data: args.body as JsonValue, chunks: EVENT_CHUNKS }));
    await store.rememberDelivery(id, replayWindowSec(hook));
    return c.json({ id, status, ...(sent && { resumed: sent.resumed }) }, 202);
  },
);
