// Tasks that declare their arguments, checked by the edge inside workerd
// against the real gateway and Redis: a job for a task no worker of the queue
// declared, or with args that do not match the declared JSON Schema, is
// refused with a 422 naming the field, and nothing is queued; a queue whose
// workers declared nothing takes any task. Declarations are written as a
// worker writes them (shared/tasks.ts); the worker's side is in
// test/tasks.test.ts.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Keys, type QueueInfo } from "../../shared/index.ts";
import { declareTasks } from "../../shared/tasks.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { call, expectProblem, jsonOf, KEYS, makeApp, queue, redis } from "./support.ts";

const prefix = uniquePrefix("tasks");
const keys = Keys.forPrefix(prefix);
const admin = { key: KEYS.admin };
const resizeArgs = z.toJSONSchema(
  z.object({ url: z.url(), width: z.number().int().min(1), tags: z.array(z.string()).optional() }).strict(),
);

async function declare(queueName: string, declaredAt = Date.now()): Promise<void> {
  await declareTasks(
    redis,
    keys,
    [queueName],
    [
      { name: "resize", args: resizeArgs as Record<string, unknown> },
      { name: "anything", args: null },
    ],
    declaredAt,
  );
}

describe("enqueue checked against the declared tasks", () => {
  it("refuses a task no worker declared, naming it, and queues nothing", async () => {
    await declare("images");
    const app = makeApp(prefix);
    const body = await expectProblem(
      await call(app, "POST", "/v1/queues/images/jobs", { ...admin, body: { task: "resise", args: {} } }),
      422,
    );
    expect(body.type).toBe("urn:edgeq:problem:unknown-task");
    expect(body.errors).toEqual([{ field: "task", message: 'no worker of queue "images" declares task "resise"' }]);
    expect((await queue(prefix, "images").counts()).queued).toBe(0);
  });

  it("refuses args that do not match the schema, naming each path", async () => {
    await declare("images");
    const app = makeApp(prefix);
    const args = { url: "not a url", width: "3", tags: ["a", 1], extra: true };
    const body = await expectProblem(
      await call(app, "POST", "/v1/queues/images/jobs", { ...admin, body: { task: "resize", args } }),
      422,
    );
    expect(body.type).toBe("urn:edgeq:problem:invalid-args");
    expect(body.errors?.map((e) => e.field).sort()).toEqual(["args.extra", "args.tags.1", "args.url", "args.width"]);
    expect(body.detail).toContain("args.width");
    expect((await queue(prefix, "images").counts()).queued).toBe(0);
  });

  it("takes matching args, and any args for a task declared without a schema", async () => {
    await declare("images");
    const app = makeApp(prefix);
    const good = { task: "resize", args: { url: "https://example.com/a.png", width: 64 } };
    expect((await jsonOf(await call(app, "POST", "/v1/queues/images/jobs", { ...admin, body: good }), 201)).task).toBe(
      "resize",
    );
    const loose = { task: "anything", args: [1, "two"] };
    await jsonOf(await call(app, "POST", "/v1/queues/images/jobs", { ...admin, body: loose }), 201);
  });

  it("checks every job of a batch, naming the job, and queues none of them on a refusal", async () => {
    await declare("batched");
    const app = makeApp(prefix);
    const jobs = [
      { task: "resize", args: { url: "https://example.com/a.png", width: 1 } },
      { task: "resize", args: { url: "https://example.com/b.png", width: 0 } },
    ];
    const body = await expectProblem(
      await call(app, "POST", "/v1/queues/batched/jobs/batch", { ...admin, body: { jobs } }),
      422,
    );
    expect(body.errors?.map((e) => e.field)).toEqual(["jobs.1.args.width"]);
    expect((await queue(prefix, "batched").counts()).queued).toBe(0);
  });

  it("lets a queue whose workers declared nothing, or only long ago, take any task", async () => {
    await declare("stale", Date.now() - 2 * 24 * 3600 * 1000);
    const app = makeApp(prefix);
    for (const name of ["stale", "undeclared"]) {
      const res = await call(app, "POST", `/v1/queues/${name}/jobs`, { ...admin, body: { task: "whatever" } });
      await jsonOf(res, 201);
    }
  });

  it("sees a task a worker declares after the edge read the queue's declarations", async () => {
    const app = makeApp(prefix);
    await declare("late");
    await jsonOf(await call(app, "POST", "/v1/queues/late/jobs", { ...admin, body: { task: "anything" } }), 201);
    await declareTasks(redis, keys, ["late"], [{ name: "brand-new", args: null }]);
    await jsonOf(await call(app, "POST", "/v1/queues/late/jobs", { ...admin, body: { task: "brand-new" } }), 201);
  });

  it("checks a schedule's task and args when it is saved", async () => {
    await declare("nightly");
    const app = makeApp(prefix);
    const spec = { queue: "nightly", task: "resize", args: { width: 10 }, cron: "0 3 * * *" };
    const body = await expectProblem(await call(app, "PUT", "/v1/schedules/bad-resize", { ...admin, body: spec }), 422);
    expect(body.errors?.map((e) => e.field)).toEqual(["args"]);
  });
});

describe("declared tasks in the queue's view", () => {
  it("lists each task with its schema for admin keys, and not for others", async () => {
    await declare("web");
    const app = makeApp(prefix);
    const info = await jsonOf<QueueInfo>(await call(app, "GET", "/v1/queues/web", admin), 200);
    expect(info.tasks?.map((t) => [t.name, t.args?.type ?? null])).toEqual([
      ["anything", null],
      ["resize", "object"],
    ]);
    const seen = await jsonOf<QueueInfo>(await call(app, "GET", "/v1/queues/web", { key: KEYS.browser }), 200);
    expect(seen.tasks).toBeUndefined();
  });
});
