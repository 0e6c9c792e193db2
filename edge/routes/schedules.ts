// Schedules: recurring jobs that the workers fire, one job per tick across
// the fleet. Made and removed with the admin scope; read with read, and a key
// limited to some queues sees only the schedules that enqueue to them.
import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import {
  DEFAULTS,
  ScheduleNotFoundError,
  scheduleNameSchema,
  scheduleSpecSchema,
  type ScheduleView,
} from "../../shared/index.ts";
import { reaches } from "../auth.ts";
import { requireScope } from "../bearer.ts";
import type { AppEnv } from "../context.ts";
import { validationHook } from "../problem.ts";
import { BEARER, json, problems } from "../schemas.ts";

export const schedules = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const nameParams = z.object({ name: scheduleNameSchema });

const scheduleSchema = z
  .looseObject({
    name: z.string(),
    queue: z.string(),
    task: z.string(),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
    lastRunAt: z.number().int().nullable(),
    lastJobId: z.string().nullable(),
    nextRuns: z.array(z.number().int()).describe("the next ticks, epoch ms; the first is when it next fires"),
  })
  .meta({ id: "Schedule" });

schedules.openapi(
  createRoute({
    method: "put",
    path: "/v1/schedules/{name}",
    operationId: "setSchedule",
    summary: "Create or replace a schedule",
    description:
      "A cron expression (five or six fields, with an IANA tz) or an interval (everyMs). Each tick enqueues one " +
      "job, with the id schedule:<name>:<tick>; ticks missed while no worker ran are not replayed: " +
      "the latest runs once.",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: {
      params: nameParams,
      body: { required: true, content: { "application/json": { schema: scheduleSpecSchema } } },
    },
    responses: {
      201: json(scheduleSchema, "created"),
      200: json(scheduleSchema, "replaced"),
      ...problems(400, 401, 403, 415, 422),
    },
  }),
  async (c) => {
    const { name } = c.req.valid("param");
    const spec = c.req.valid("json");
    if (!reaches(c.var.principal, spec.queue)) throw new ScheduleNotFoundError(name);
    await c.var.store.checkTasks(spec.queue, [spec], () => "");
    const { created, schedule } = await c.var.store.schedules().set(name, spec);
    return created ? c.json(schedule, 201) : c.json(schedule, 200);
  },
);

schedules.openapi(
  createRoute({
    method: "get",
    path: "/v1/schedules",
    operationId: "listSchedules",
    summary: "The schedules the key reaches, in the order they fire next",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: {
      query: z.object({
        offset: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(200).optional().describe("default 100"),
      }),
    },
    responses: {
      200: json(
        z.object({
          schedules: z.array(scheduleSchema),
          nextOffset: z.number().int().nullable().describe("the offset of the next page; null on the last"),
        }),
        "the schedules",
      ),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { offset = 0, limit = 100 } = c.req.valid("query");
    const store = c.var.store.schedules();
    // a key limited to some queues skips the others' schedules, reading a bounded number of pages a request
    const schedules: ScheduleView[] = [];
    let next: number | null = offset;
    for (let read = 0; read < SCHEDULE_PAGES && next !== null && schedules.length < limit; read++) {
      const page = await store.list({ offset: next, limit: 2 * DEFAULTS.scriptBatch });
      let taken = 0;
      for (const schedule of page) {
        if (schedules.length === limit) break;
        taken++;
        if (reaches(c.var.principal, schedule.queue)) schedules.push(schedule);
      }
      next = taken < page.length || page.length === 2 * DEFAULTS.scriptBatch ? next + taken : null;
    }
    return c.json({ schedules, nextOffset: next }, 200);
  },
);

/** Pages of schedules one listing reads at most, for a key that sees only some of them. */
const SCHEDULE_PAGES = 10;

schedules.openapi(
  createRoute({
    method: "get",
    path: "/v1/schedules/{name}",
    operationId: "getSchedule",
    summary: "A schedule, with its next runs",
    security: BEARER,
    middleware: [requireScope("read")] as const,
    request: { params: nameParams },
    responses: { 200: json(scheduleSchema, "the schedule"), ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { name } = c.req.valid("param");
    return c.json(await visibleSchedule(c.var, name), 200);
  },
);

schedules.openapi(
  createRoute({
    method: "delete",
    path: "/v1/schedules/{name}",
    operationId: "deleteSchedule",
    summary: "Remove a schedule (the jobs it made stay)",
    security: BEARER,
    middleware: [requireScope("admin")] as const,
    request: { params: nameParams },
    responses: { 204: { description: "removed" }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { name } = c.req.valid("param");
    await visibleSchedule(c.var, name);
    await c.var.store.schedules().remove(name);
    return c.body(null, 204);
  },
);

/** The schedule, when the key reaches its queue; 404 otherwise, so other queues' schedules cannot be probed. */
async function visibleSchedule(vars: AppEnv["Variables"], name: string): Promise<ScheduleView> {
  const schedule = await vars.store.schedules().get(name);
  if (!schedule || !reaches(vars.principal, schedule.queue)) throw new ScheduleNotFoundError(name);
  return schedule;
}
