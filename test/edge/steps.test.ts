// A durable job's steps over HTTP, inside workerd: in the job's view and in
// GET /v1/jobs/:id/steps, with their results for admin keys only.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { call, expectProblem, finish, jsonOf, KEYS, makeApp, queue, recordStep, start } from "./support.ts";

const prefix = uniquePrefix("steps");
const app = makeApp(prefix);

describe("steps over HTTP", () => {
  it("shows a job's steps in order, their results to admin keys only", async () => {
    const job = await queue(prefix, "web").enqueue("checkout", { order: 7 });
    await start(prefix, "web", job.id);
    await recordStep(prefix, job.id, "charge", { charge: "ch_1", token: "secret-from-the-psp" });
    await recordStep(prefix, job.id, "receipt", true);
    await finish(prefix, job.id, "done");

    const seen = await jsonOf<JobView>(await call(app, "GET", `/v1/jobs/${job.id}`, { key: KEYS.admin }), 200);
    expect(seen.stepCount).toBe(2);
    expect(seen.steps!.map((s) => [s.id, s.n, s.result])).toEqual([
      ["charge", 1, { charge: "ch_1", token: "secret-from-the-psp" }],
      ["receipt", 2, true],
    ]);
    const res = await call(app, "GET", `/v1/jobs/${job.id}/steps`, { key: KEYS.browser });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain("secret-from-the-psp");
    const { steps } = JSON.parse(text) as { steps: { id: string; result?: unknown; startedAt: number }[] };
    expect(steps.map((s) => s.id)).toEqual(["charge", "receipt"]);
    expect(steps[0]).not.toHaveProperty("result");
    expect(steps[0]!.startedAt).toEqual(expect.any(Number));
  });

  it("answers a job without steps with none, and a job out of the key's queues with 404", async () => {
    const plain = await queue(prefix, "web").enqueue("t");
    const listed = await jsonOf<{ steps: unknown[] }>(
      await call(app, "GET", `/v1/jobs/${plain.id}/steps`, { key: KEYS.reader }),
      200,
    );
    expect(listed.steps).toEqual([]);
    const elsewhere = await queue(prefix, "other").enqueue("t");
    await expectProblem(await call(app, "GET", `/v1/jobs/${elsewhere.id}/steps`, { key: KEYS.browser }), 404);
  });
});
