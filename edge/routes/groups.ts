// A queue's groups (flow control per tenant, user or API key): the listing,
// with each group's counts and policy, and one group's own policy or pause.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { groupNameSchema, queueNameSchema } from "../../shared/index.ts";
import type { AppEnv } from "../context.ts";
import { requireScope } from "../bearer.ts";
import { validationHook } from "../problem.ts";
import { BEARER, groupPolicySchema, json, limitSchema, problems } from "../schemas.ts";

export const groups = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const groupParams = z.object({ queue: queueNameSchema, group: groupNameSchema });

const loadSchema = z.object({ waiting: z.number().int(), started: z.number().int() });

const groupSchema = loadSchema
  .extend({
    name: z.string(),
    policy: groupPolicySchema.describe("the group's own policy"),
    effective: groupPolicySchema.describe("the policy it obeys: its own over the queue's default"),
  })
  .meta({ id: "Group" });

groups.openapi(
  createRoute({
    method: "get",
    path: "/v1/queues/{queue}/groups",
    operationId: "listGroups",
    summary: "A page of a queue's groups, most loaded (waiting + started jobs) first",
    description:
      "Each page costs O(log n + limit) in Redis. The order moves as jobs come and go, so a walk over pages may " +
      "show a group twice or miss one. The first page also counts the jobs without a group.",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: {
      params: z.object({ queue: queueNameSchema }),
      query: z.object({
        limit: z.coerce.number().int().min(1).max(200).optional().describe("groups per page (default 50)"),
        cursor: z.string().max(16).optional().describe("nextCursor of the previous page"),
      }),
    },
    responses: {
      200: json(
        z.object({
          groups: z.array(groupSchema),
          total: z.number().int().describe("groups with jobs waiting or started, or with a policy of their own"),
          nextCursor: z.string().nullable(),
          ungrouped: loadSchema.optional().describe("first page: the queue's jobs without a group"),
          default: groupPolicySchema.optional().describe("first page: the policy of each group without its own"),
        }),
        "the page",
      ),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { queue } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    return c.json(await c.var.store.queue(queue).groups({ limit, cursor }), 200);
  },
);

const policyBody = z
  .strictObject({
    concurrency: z.number().int().nullable().optional().describe("null removes it (the queue's default applies)"),
    limit: limitSchema.nullable().optional().describe("null removes it (the queue's default applies)"),
    paused: z.boolean().nullable().optional().describe("true pauses the group; false or null resumes it"),
  })
  .meta({ id: "GroupPolicyPatch" });

groups.openapi(
  createRoute({
    method: "patch",
    path: "/v1/queues/{queue}/groups/{group}",
    operationId: "updateGroup",
    summary: "Give one group its own concurrency or rate limit, or pause it",
    description: "Stored in Redis and decided inside every claim; the queue's own limits still hold on top.",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: {
      params: groupParams,
      body: { required: true, content: { "application/json": { schema: policyBody } } },
    },
    responses: {
      200: json(
        z.object({ group: z.string(), policy: groupPolicySchema, effective: groupPolicySchema }),
        "the group's own policy now, and the one it obeys",
      ),
      ...problems(400, 401, 403, 415, 422),
    },
  }),
  async (c) => {
    const { queue, group } = c.req.valid("param");
    return c.json(await c.var.store.queue(queue).configureGroup(group, c.req.valid("json")), 200);
  },
);
