// Webhook intake: no API key (senders cannot send one); the signature is the
// credential. A verified delivery is enqueued under an id derived from its
// delivery id, so the sender's retries all land on one job.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../context.ts";
import { deliveryArgs, deliveryJobId, verifyDelivery } from "../signatures.ts";
import { Problem, validationHook } from "../problem.ts";
import { json, problems } from "../schemas.ts";

export const hooks = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

hooks.openapi(
  createRoute({
    method: "post",
    path: "/v1/hooks/{hook}",
    summary: "Receive a webhook delivery",
    description:
      "Verifies the sender's signature (scheme per hook: standard, github, stripe, hmac) on the raw body, " +
      "then enqueues the hook's task with args { headers, body }. A repeated delivery answers 202 with the same job.",
    request: { params: z.object({ hook: z.string() }) },
    responses: {
      202: json(z.object({ id: z.string(), status: z.string() }), "accepted (or already accepted)"),
      ...problems(400, 401, 404, 413),
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
    const [submitted] = await c.var.store.queue(hook.queue).submit([
      {
        task: hook.task,
        args: deliveryArgs(headers, body),
        options: { id: await deliveryJobId(name, delivery), meta: { hook: name, delivery } },
      },
    ]);
    const { id, status } = submitted!.job;
    return c.json({ id, status }, 202);
  },
);
