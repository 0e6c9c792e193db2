// A job's log (ctx.log, ctx.logger), a page at a time. Admin keys only: a
// task's lines may hold what its stack or its step results would, which a
// browser's key never sees.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { DEFAULTS, JobNotFoundError } from "../../shared/index.ts";
import { requireScope } from "../bearer.ts";
import type { AppEnv } from "../context.ts";
import { validationHook } from "../problem.ts";
import { BEARER, jobLogSchema, jobParams, json, problems } from "../schemas.ts";
import { getVisibleJob } from "./jobs.ts";

export const logs = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

logs.openapi(
  createRoute({
    method: "get",
    path: "/v1/jobs/{id}/logs",
    operationId: "getJobLogs",
    summary: "A page of a job's log lines, oldest first",
    description:
      `What its task wrote with ctx.log and ctx.logger, each line with its time and attempt. A job keeps its latest ` +
      `${DEFAULTS.maxLogLines} lines within ${DEFAULTS.maxLogBytes / 1024} KiB; lines are numbered from its first, ` +
      "the dropped ones too, so `nextOffset` is where a follower asks next (on each `log` event of " +
      "GET /v1/jobs/{id}/events). Admin keys only: lines may hold secrets, as stacks do.",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: {
      params: jobParams,
      query: z.object({
        offset: z.coerce
          .number()
          .int()
          .min(0)
          .max(Number.MAX_SAFE_INTEGER)
          .optional()
          .describe("the number of the first line wanted (default 0); a dropped one starts at the oldest kept"),
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(DEFAULTS.maxLogPage)
          .optional()
          .describe("lines per page (default 100)"),
      }),
    },
    responses: { 200: json(jobLogSchema, "the page"), ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const job = await getVisibleJob(c, id);
    const log = await c.var.store.queue(job.queue).logs(id, c.req.valid("query"));
    if (!log) throw new JobNotFoundError(id);
    return c.json(log, 200);
  },
);
