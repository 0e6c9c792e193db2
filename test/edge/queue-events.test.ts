// GET /v1/queues/:queue/events inside workerd against the real gateway and
// Redis: a queue's transitions as server-sent events, resumed with
// Last-Event-ID, a gap once the event resumed after is trimmed, and the
// key's scope and queues as every queue read has them.
import { describe, expect, it } from "vitest";
import { Keys, type JobView } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import {
  call,
  expectProblem,
  failJob,
  finish,
  jsonOf,
  KEYS,
  makeApp,
  readSse,
  redis,
  report,
  start,
} from "./support.ts";

const prefix = uniquePrefix("queue-events");
const app = makeApp(prefix);

async function follow(queue: string, key: string = KEYS.admin, headers: Record<string, string> = {}) {
  const res = await call(app, "GET", `/v1/queues/${queue}/events`, { key, headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  return readSse(res.body!);
}

async function enqueue(queue: string, task: string, key: string = KEYS.admin): Promise<JobView> {
  return jsonOf(await call(app, "POST", `/v1/queues/${queue}/jobs`, { key, body: { task } }), 201);
}

async function next(events: AsyncGenerator<{ event?: string; id?: string; data: string }>) {
  const { value } = await events.next();
  return { event: value!.event, id: value!.id, data: JSON.parse(value!.data) as Record<string, unknown> };
}

describe("a queue's events as server-sent events", () => {
  it("opens where the stream ends now, then streams each transition of the queue's jobs in order", async () => {
    const before = await enqueue("feed", "echo");
    const events = await follow("feed");
    const ready = await next(events);
    expect(ready).toMatchObject({ event: "ready", id: expect.stringMatching(/^\d+-\d+$/) });
    const job = await enqueue("feed", "resize");
    await start(prefix, "feed", before.id);
    await report(prefix, before.id, { progress: 50 });
    await finish(prefix, before.id, "done");
    const seen = [await next(events), await next(events), await next(events), await next(events)];
    expect(seen).toMatchObject([
      { event: "queued", data: { id: job.id, status: "queued", task: "resize" } },
      { event: "started", data: { id: before.id, status: "started", from: "queued", attempt: 1 } },
      { event: "progress", data: { id: before.id, status: "started", progress: 50, task: "echo" } },
      { event: "finished", data: { id: before.id, status: "finished", from: "started", task: "echo" } },
    ]);
    const ids = seen.map((e) => e.id!);
    expect([...ids].sort()).toEqual(ids);
    await events.return(undefined);

    // Last-Event-ID goes on after the event it names, as does ?after=
    const resumed = await follow("feed", KEYS.admin, { "Last-Event-ID": ids[1]! });
    expect(await next(resumed)).toMatchObject({ event: "ready", id: ids[1] });
    expect(await next(resumed)).toEqual(seen[2]);
    expect(await next(resumed)).toEqual(seen[3]);
    await resumed.return(undefined);
    const res = await call(app, "GET", `/v1/queues/feed/events?after=${ids[2]}`, { key: KEYS.reader });
    const after = readSse(res.body!);
    await next(after);
    expect(await next(after)).toEqual(seen[3]);
    await after.return(undefined);
  });

  it("sends a gap first when the event resumed after is no longer kept", async () => {
    await enqueue("trimmed", "a");
    await enqueue("trimmed", "b");
    const events = await follow("trimmed", KEYS.admin, { "Last-Event-ID": "0" });
    await next(events);
    const { id } = await next(events);
    const second = await next(events);
    expect(second).toMatchObject({ event: "queued", data: { task: "b" } });
    await events.return(undefined);
    // as the cap does past its ~10,000 entries
    await redis.xtrim(Keys.forPrefix(prefix).queueEvents("trimmed"), {
      strategy: "MAXLEN",
      exactness: "=",
      threshold: 1,
    });
    const resumed = await follow("trimmed", KEYS.admin, { "Last-Event-ID": id! });
    await next(resumed);
    expect(await next(resumed)).toEqual({ event: "gap", id: undefined, data: { after: id } });
    expect(await next(resumed)).toEqual(second);
    await resumed.return(undefined);
  });

  it("shows a browser key its own queue's events, with errors as its job reads show them", async () => {
    const events = await follow("web", KEYS.browser);
    await next(events);
    const job = await enqueue("web", "charge", KEYS.browser);
    await start(prefix, "web", job.id);
    await failJob(prefix, job.id, { name: "UnknownTaskError", message: "the worker knows: secret-task, charge-v2" });
    await next(events);
    await next(events);
    const failed = await next(events);
    expect(failed).toMatchObject({ event: "failed", data: { id: job.id, error: { name: "UnknownTaskError" } } });
    expect(JSON.stringify(failed)).not.toContain("secret-task");
    await events.return(undefined);
  });

  it("refuses a key without read scope or without the queue, a bad queue name and a bad Last-Event-ID", async () => {
    expect((await call(app, "GET", "/v1/queues/feed/events")).status).toBe(401);
    await expectProblem(await call(app, "GET", "/v1/queues/feed/events", { key: KEYS.enqueuer }), 403);
    const other = await expectProblem(await call(app, "GET", "/v1/queues/feed/events", { key: KEYS.browser }), 403);
    expect(other.detail).toContain('queue "feed"');
    const name = await expectProblem(await call(app, "GET", "/v1/queues/no%20spaces/events", { key: KEYS.admin }), 400);
    expect(name.errors?.[0]?.field).toContain("queue");
    const bad = { key: KEYS.admin, headers: { "Last-Event-ID": "yesterday" } };
    const id = await expectProblem(await call(app, "GET", "/v1/queues/feed/events", bad), 400);
    expect(id.errors?.[0]?.field).toContain("last-event-id");
    const query = await expectProblem(await call(app, "GET", "/v1/queues/feed/events?after=1-2-3", bad), 400);
    expect(JSON.stringify(query.errors)).toContain("after");
  });
});
