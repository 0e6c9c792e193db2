// The job routes' happy paths, inside workerd against the real gateway and Redis.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import {
  call,
  expectProblem,
  failJob,
  finish,
  jsonOf,
  KEYS,
  makeApp,
  queue,
  readSse,
  report,
  start,
} from "./support.ts";

const prefix = uniquePrefix("jobs");
const app = makeApp(prefix);
const admin = { key: KEYS.admin };

function enqueue(queueName: string, body: unknown, headers?: Record<string, string>) {
  return call(app, "POST", `/v1/queues/${queueName}/jobs`, { ...admin, body, headers });
}

describe("enqueue and read", () => {
  it("enqueues with 201 and a Location that reads the job back", async () => {
    const res = await enqueue("q1", { task: "echo", args: { hello: "world" }, options: { meta: { from: "test" } } });
    const job = await jsonOf(res, 201);
    expect(job).toMatchObject({
      queue: "q1",
      task: "echo",
      status: "queued",
      args: { hello: "world" },
      meta: { from: "test" },
      attempts: 0,
    });
    expect(res.headers.get("Location")).toBe(`/v1/jobs/${job.id}`);
    expect(res.headers.get("X-Request-Id")).toBeTruthy();

    const read = await jsonOf(await call(app, "GET", res.headers.get("Location")!, admin), 200);
    expect(read).toEqual(job);
  });

  it("answers 200 with the existing job for a client-chosen id that exists", async () => {
    const first = await jsonOf(await enqueue("q1", { task: "echo", args: 1, options: { id: "chosen-1" } }), 201);
    const again = await jsonOf(await enqueue("q1", { task: "echo", args: 2, options: { id: "chosen-1" } }), 200);
    expect(again).toEqual(first);
  });

  it("refuses a client-chosen id that a job in another queue has, without showing that job (409)", async () => {
    const secret = await jsonOf(
      await enqueue("q1", { task: "charge", args: { card: "4242" }, options: { id: "chosen-2" } }),
      201,
    );
    const res = await call(app, "POST", "/v1/queues/web/jobs", {
      key: KEYS.browser,
      body: { task: "echo", options: { id: "chosen-2" } },
    });
    const body = await expectProblem(res, 409);
    expect(JSON.stringify(body)).not.toContain("4242");
    expect(await queue(prefix, "q1").getJob("chosen-2")).toEqual(secret);
  });

  it("replays an Idempotency-Key with 200 and the same job, and refuses it with another body (422)", async () => {
    const headers = { "Idempotency-Key": "order-42" };
    const res = await enqueue("q2", { task: "charge", args: { cents: 100 } }, headers);
    const first = await jsonOf(res, 201);
    expect(res.headers.get("Idempotency-Key")).toBe("order-42");

    // the same body with its keys in another order is the same request
    const replay = await call(app, "POST", "/v1/queues/q2/jobs", {
      ...admin,
      headers,
      body: '{"args":{"cents":100},"task":"charge"}',
    });
    expect(await jsonOf(replay, 200)).toEqual(first);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");

    const before = await queue(prefix, "q2").counts();
    const conflict = await expectProblem(await enqueue("q2", { task: "charge", args: { cents: 999 } }, headers), 422);
    expect(conflict.type).toBe("urn:edgeq:problem:idempotency-conflict");
    expect(await queue(prefix, "q2").counts()).toEqual(before);
  });

  it("enqueues a batch in one request, all in order", async () => {
    const body = { jobs: [{ task: "a" }, { task: "b", args: [1, 2] }, { task: "c", options: { id: "batch-c" } }] };
    const { jobs } = await jsonOf<{ jobs: JobView[] }>(
      await call(app, "POST", "/v1/queues/batchq/jobs/batch", { ...admin, body }),
      201,
    );
    expect(jobs.map((j) => [j.task, j.status])).toEqual([
      ["a", "queued"],
      ["b", "queued"],
      ["c", "queued"],
    ]);
    expect(jobs[2]!.id).toBe("batch-c");
    expect((await queue(prefix, "batchq").counts()).queued).toBe(3);
  });
});

describe("waiting for the end", () => {
  it("?wait returns as soon as the job finishes", async () => {
    const job = await jsonOf(await enqueue("waitq", { task: "echo" }), 201);
    // the worker's part, a moment after the request starts waiting
    const worker = new Promise<void>((resolve, reject) =>
      setTimeout(
        () =>
          start(prefix, "waitq", job.id)
            .then(() => finish(prefix, job.id, { ok: 1 }))
            .then(resolve, reject),
        150,
      ),
    );
    const res = await call(app, "GET", `/v1/jobs/${job.id}?wait=10`, admin);
    await worker;
    expect(await jsonOf(res, 200)).toMatchObject({ id: job.id, status: "finished", result: { ok: 1 }, attempts: 1 });
  });

  it("?wait gives the job as it is when the time runs out", async () => {
    const job = await jsonOf(await enqueue("waitq2", { task: "echo" }), 201);
    const res = await call(app, "GET", `/v1/jobs/${job.id}?wait=0.3`, admin);
    expect(await jsonOf(res, 200)).toMatchObject({ id: job.id, status: "queued" });
  });

  it("streams a status event per change and ends at the terminal status", async () => {
    const job = await jsonOf(await enqueue("sseq", { task: "echo" }), 201);
    const res = await call(app, "GET", `/v1/jobs/${job.id}/events`, admin);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = readEvents(res.body!);

    const queued = await events.next();
    expect(queued.value).toMatchObject({ event: "status", id: "queued.0", job: { status: "queued" } });
    await start(prefix, "sseq", job.id);
    expect((await events.next()).value).toMatchObject({ id: "started.1", job: { status: "started" } });
    await finish(prefix, job.id, "done");
    expect((await events.next()).value).toMatchObject({
      id: "finished.1",
      job: { status: "finished", result: "done" },
    });
    expect((await events.next()).done).toBe(true);

    // a client that has seen the end is told so, and its EventSource stops
    const again = await call(app, "GET", `/v1/jobs/${job.id}/events`, {
      ...admin,
      headers: { "Last-Event-ID": "finished.1" },
    });
    expect(again.status).toBe(204);
  });
});

describe("following a running job", () => {
  it("streams the task's progress as it reports it, between the status events", async () => {
    const job = await jsonOf(await enqueue("progq", { task: "steps" }), 201);
    const events = readEvents((await call(app, "GET", `/v1/jobs/${job.id}/events`, admin)).body!);
    expect((await events.next()).value).toMatchObject({ event: "status", id: "queued.0" });
    await start(prefix, "progq", job.id);
    expect((await events.next()).value).toMatchObject({ event: "status", id: "started.1" });
    await report(prefix, job.id, { progress: 50, meta: { step: 1 } });
    expect((await events.next()).value).toMatchObject({ event: "progress", job: { progress: 50, meta: { step: 1 } } });
    await finish(prefix, job.id, "done");
    expect((await events.next()).value).toMatchObject({ event: "status", id: "finished.1", job: { progress: 50 } });
    expect((await events.next()).done).toBe(true);
  });

  it("?wait answers as soon as the job ends", async () => {
    const job = await jsonOf(await enqueue("waitq3", { task: "echo" }), 201);
    const waited = call(app, "GET", `/v1/jobs/${job.id}?wait=20`, admin);
    await start(prefix, "waitq3", job.id);
    await finish(prefix, job.id, { ok: 1 });
    expect(await jsonOf(await waited, 200)).toMatchObject({ status: "finished", result: { ok: 1 } });
  });
});

describe("cancel and requeue", () => {
  it("cancels a waiting job (200) and requeues it", async () => {
    const job = await jsonOf(await enqueue("cq", { task: "echo" }), 201);
    expect(await jsonOf(await call(app, "DELETE", `/v1/jobs/${job.id}`, admin), 200)).toMatchObject({
      status: "canceled",
    });
    expect(await jsonOf(await call(app, "POST", `/v1/jobs/${job.id}/requeue`, admin), 200)).toMatchObject({
      status: "queued",
    });
    expect((await queue(prefix, "cq").counts()).queued).toBe(1);
  });

  it("asks the worker to stop a started job (202)", async () => {
    const job = await jsonOf(await enqueue("cq2", { task: "echo" }), 201);
    await start(prefix, "cq2", job.id);
    expect(await jsonOf(await call(app, "DELETE", `/v1/jobs/${job.id}`, admin), 202)).toMatchObject({
      status: "started",
    });
  });

  it("refuses to cancel a finished job or requeue a queued one (409)", async () => {
    const job = await jsonOf(await enqueue("cq3", { task: "echo" }), 201);
    await expectProblem(await call(app, "POST", `/v1/jobs/${job.id}/requeue`, admin), 409);
    await start(prefix, "cq3", job.id);
    await finish(prefix, job.id, null);
    const problem = await expectProblem(await call(app, "DELETE", `/v1/jobs/${job.id}`, admin), 409);
    expect(problem.detail).toContain("finished");
  });

  it("requeues a failed job as new", async () => {
    const job = await jsonOf(await enqueue("cq4", { task: "boom" }), 201);
    await start(prefix, "cq4", job.id);
    await failJob(prefix, job.id, "it broke");
    expect(await jsonOf(await call(app, "GET", `/v1/jobs/${job.id}`, admin), 200)).toMatchObject({
      status: "failed",
      error: { message: "it broke" },
    });
    expect(await jsonOf(await call(app, "POST", `/v1/jobs/${job.id}/requeue`, admin), 200)).toMatchObject({
      status: "queued",
      attempts: 0,
      error: null,
    });
  });
});

describe("queues", () => {
  it("lists queues with counts per status, and one queue by name", async () => {
    const p = uniquePrefix("queues");
    const own = makeApp(p);
    await call(own, "POST", "/v1/queues/alpha/jobs", { ...admin, body: { task: "x" } });
    await call(own, "POST", "/v1/queues/beta/jobs/batch", { ...admin, body: { jobs: [{ task: "x" }, { task: "y" }] } });
    const { queues } = await jsonOf<{ queues: { name: string; counts: Record<string, number>; workers: unknown[] }[] }>(
      await call(own, "GET", "/v1/queues", admin),
      200,
    );
    expect(queues.map((q) => [q.name, q.counts.queued])).toEqual([
      ["alpha", 1],
      ["beta", 2],
    ]);
    expect(queues[0]!.counts).toEqual({
      queued: 1,
      scheduled: 0,
      deferred: 0,
      awaiting: 0,
      started: 0,
      finished: 0,
      failed: 0,
      stopped: 0,
      canceled: 0,
    });
    expect(await jsonOf(await call(own, "GET", "/v1/queues/beta", admin), 200)).toMatchObject({
      name: "beta",
      counts: { queued: 2 },
      workers: [],
    });
  });
});

interface SseEvent {
  event?: string;
  id?: string;
  job: JobView;
}

/** A job's stream, each event's data read as the job. */
async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  for await (const { event, id, data } of readSse(body)) yield { event, id, job: JSON.parse(data) as JobView };
}
