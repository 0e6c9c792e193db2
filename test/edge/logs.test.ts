// A job's log over HTTP, inside workerd: GET /v1/jobs/:id/logs pages the
// lines a worker wrote, to admin keys only (a line may hold a secret), with a
// problem for an unknown job or a bad page; the job's event stream says when
// lines were written, with their count and never their text.
import { describe, expect, it } from "vitest";
import type { JobLog } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { call, expectProblem, finish, jsonOf, KEYS, makeApp, queue, report, start } from "./support.ts";

const prefix = uniquePrefix("edge-logs");
const app = makeApp(prefix);
const line = (text: string, attempt = 1) => JSON.stringify({ at: Date.now(), attempt, text });

/** A started job with these lines written, as its worker writes them. */
async function logged(queueName: string, texts: string[]) {
  const job = await queue(prefix, queueName).enqueue("chatty", {});
  await start(prefix, queueName, job.id);
  await report(prefix, job.id, { logs: texts.map((t) => line(t)) });
  return job;
}

describe("GET /v1/jobs/:id/logs", () => {
  it("pages a job's lines, numbered from its first", async () => {
    const job = await logged("web", ["one", "two", "three"]);
    const all = await jsonOf<JobLog>(await call(app, "GET", `/v1/jobs/${job.id}/logs`, { key: KEYS.admin }), 200);
    expect(all).toMatchObject({ total: 3, dropped: 0, nextOffset: 3 });
    expect(all.lines.map((l) => [l.n, l.attempt, l.text])).toEqual([
      [0, 1, "one"],
      [1, 1, "two"],
      [2, 1, "three"],
    ]);
    const page = await jsonOf<JobLog>(
      await call(app, "GET", `/v1/jobs/${job.id}/logs?offset=1&limit=1`, { key: KEYS.admin }),
      200,
    );
    expect(page).toMatchObject({ lines: [{ n: 1, text: "two" }], nextOffset: 2, total: 3 });
    // an admin key limited to the job's queue reads it too
    await jsonOf(await call(app, "GET", `/v1/jobs/${job.id}/logs`, { key: KEYS.webAdmin }), 200);
  });

  it("refuses keys without admin, even on the job's own queue, and answers 404 for an unknown job", async () => {
    const job = await logged("web", ["token=hunter2"]);
    for (const key of [KEYS.browser, KEYS.reader]) {
      const res = await call(app, "GET", `/v1/jobs/${job.id}/logs`, { key });
      expect(await res.clone().text()).not.toContain("hunter2");
      await expectProblem(res, 403);
    }
    await expectProblem(await call(app, "GET", `/v1/jobs/${job.id}/logs`), 401);
    const unknown = await expectProblem(await call(app, "GET", "/v1/jobs/no-such-job/logs", { key: KEYS.admin }), 404);
    expect(unknown.type).toBe("urn:edgeq:problem:job-not-found");
    // an admin of another queue cannot tell the job exists
    const other = await logged("elsewhere", ["hidden"]);
    await expectProblem(await call(app, "GET", `/v1/jobs/${other.id}/logs`, { key: KEYS.webAdmin }), 404);
  });

  it("refuses a page out of bounds, naming the field", async () => {
    const job = await logged("web", ["a"]);
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["offset=-1", "offset"],
      ["offset=x", "offset"],
    ]) {
      const res = await call(app, "GET", `/v1/jobs/${job.id}/logs?${query}`, { key: KEYS.admin });
      const problem = await expectProblem(res, 400);
      expect(JSON.stringify(problem.errors)).toContain(field);
    }
  });

  it("is in the OpenAPI document, for admin keys", async () => {
    const doc = await jsonOf<{ paths: Record<string, { get?: { security?: unknown; responses: object } }> }>(
      await call(app, "GET", "/openapi.json"),
      200,
    );
    const route = doc.paths["/v1/jobs/{id}/logs"]!.get!;
    expect(route.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(["200", "403", "404"]));
  });
});

describe("the job's event stream", () => {
  it("sends a log event with the count of lines written, never their text", async () => {
    const job = await queue(prefix, "web").enqueue("chatty", {});
    const res = await call(app, "GET", `/v1/jobs/${job.id}/events`, { key: KEYS.browser });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    // the first status event comes once the stream has subscribed
    while (!text.includes("queued.0")) text += decoder.decode((await reader.read()).value, { stream: true });
    await start(prefix, "web", job.id);
    await report(prefix, job.id, { logs: [line("password=swordfish"), line("two")] });
    await finish(prefix, job.id, null);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value, { stream: true });
    }
    expect(text).toContain('event: log\ndata: {"log":2}\n');
    expect(text).not.toContain("swordfish");
    expect(text.indexOf("event: log")).toBeLessThan(text.indexOf("finished.1"));
  });
});
