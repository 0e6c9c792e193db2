// What an API key may do beyond its scopes: how many requests it makes, and
// which job options it may set. Each refusal names the field and writes nothing.
import { describe, expect, it } from "vitest";
import type { ApiKeyConfig } from "../../edge/config.ts";
import { Keys } from "../../shared/index.ts";
import { scriptRunner } from "../../shared/redis.ts";
import * as scripts from "../../shared/scripts/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { API_KEYS, call, expectProblem, jsonOf, KEYS, makeApp, redis, snapshot } from "./support.ts";

const STRICT = "strict-key-0123456789abcdef0123456789";
const LIMITED = "limited-key-0123456789abcdef012345678";

const apiKeys: ApiKeyConfig[] = [
  ...API_KEYS,
  {
    name: "strict",
    key: STRICT,
    scopes: ["enqueue", "read"],
    queues: ["web"],
    callbackOrigins: ["https://hooks.example"],
    maxTimeoutMs: 30_000,
    maxRetries: 2,
    maxDelaySec: 3_600,
  },
  // a day's window, so no window ends while the test runs (unless it runs across midnight UTC)
  {
    name: "limited",
    key: LIMITED,
    scopes: ["enqueue", "read"],
    queues: ["web"],
    rateLimit: { requests: 3, perSec: 86_400 },
  },
];

const prefix = uniquePrefix("policy");
const app = makeApp(prefix, { apiKeys });

function enqueue(key: string, options: Record<string, unknown>) {
  return call(app, "POST", "/v1/queues/web/jobs", { key, body: { task: "t", options } });
}

async function storedJob(id: string) {
  return scripts.getJob.run(scriptRunner(redis), Keys.forPrefix(prefix), { id });
}

describe("job options a key may set", () => {
  const inAnHour = Date.now() + 3_600_000;
  const refusals: { name: string; key: string; options: Record<string, unknown>; status: number; field: string }[] = [
    {
      name: "a callbackUrl from a key that lists no callbackOrigins",
      key: KEYS.admin,
      options: { callbackUrl: "https://hooks.example/done" },
      status: 422,
      field: "options.callbackUrl",
    },
    {
      name: "a callbackUrl on another host",
      key: STRICT,
      options: { callbackUrl: "https://evil.example/done" },
      status: 422,
      field: "options.callbackUrl",
    },
    {
      name: "a callbackUrl on the listed host over plain http",
      key: STRICT,
      options: { callbackUrl: "http://hooks.example/done" },
      status: 422,
      field: "options.callbackUrl",
    },
    {
      name: "a callbackUrl on the listed host at another port",
      key: STRICT,
      options: { callbackUrl: "https://hooks.example:8443/done" },
      status: 422,
      field: "options.callbackUrl",
    },
    {
      name: "a callbackUrl whose userinfo names the listed host",
      key: STRICT,
      options: { callbackUrl: "https://hooks.example@evil.example/done" },
      status: 422,
      field: "options.callbackUrl",
    },
    {
      name: "a timeout over the key's ceiling",
      key: STRICT,
      options: { timeoutMs: 30_001 },
      status: 422,
      field: "options.timeoutMs",
    },
    {
      name: "more retries than the key allows",
      key: STRICT,
      options: { retry: { max: 3 } },
      status: 422,
      field: "options.retry.max",
    },
    {
      name: "a delay past the key's horizon",
      key: STRICT,
      options: { delayMs: 3_600_001 + 60_000 },
      status: 422,
      field: "options.delayMs",
    },
    {
      name: "a runAt past the key's horizon",
      key: STRICT,
      options: { runAt: inAnHour + 60_000 },
      status: 422,
      field: "options.runAt",
    },
    {
      name: "a runAt past the key's horizon, as a date-time",
      key: STRICT,
      options: { runAt: new Date(inAnHour + 60_000).toISOString() },
      status: 422,
      field: "options.runAt",
    },
    {
      name: "a runAt more than a year ahead, from any key",
      key: KEYS.admin,
      options: { runAt: Date.now() + 366 * 86_400_000 },
      status: 400,
      field: "options.runAt",
    },
    {
      name: "a job id in the webhook intake's namespace, from any key",
      key: KEYS.admin,
      options: { id: "hook:github:sha256-0123" },
      status: 400,
      field: "options.id",
    },
    {
      name: "a job id in the schedules' namespace, from any key",
      key: KEYS.admin,
      options: { id: "schedule:nightly:1764385200000" },
      status: 400,
      field: "options.id",
    },
  ];

  it.each(refusals)("refuses $name ($status), writing nothing", async ({ key, options, status, field }) => {
    const before = await snapshot(app);
    const problem = await expectProblem(await enqueue(key, options), status);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(await snapshot(app)).toEqual(before);
  });

  it("names the job of a batch that breaks the policy, and enqueues none of it", async () => {
    const before = await snapshot(app);
    const res = await call(app, "POST", "/v1/queues/web/jobs/batch", {
      key: STRICT,
      body: { jobs: [{ task: "a" }, { task: "b", options: { callbackUrl: "https://evil.example/" } }] },
    });
    const problem = await expectProblem(res, 422);
    expect(problem.errors).toEqual([{ field: "jobs.1.options.callbackUrl", message: expect.any(String) }]);
    expect(await snapshot(app)).toEqual(before);
  });

  it("accepts what the key allows", async () => {
    const job = await jsonOf(
      await enqueue(STRICT, {
        callbackUrl: "https://hooks.example/done?job=1",
        timeoutMs: 30_000,
        retry: { max: 2 },
        runAt: Date.now() + 3_500_000,
      }),
      201,
    );
    expect(job.status).toBe("scheduled");
    expect(await storedJob(job.id)).toMatchObject({
      callbackUrl: "https://hooks.example/done?job=1",
      timeoutMs: 30_000,
      retry: { max: 2 },
    });
  });

  it("gives a job that leaves its timeout to the default the key's lower ceiling", async () => {
    const job = await jsonOf(await enqueue(STRICT, {}), 201);
    expect((await storedJob(job.id))!.timeoutMs).toBe(30_000);
  });
});

describe("request limits", () => {
  it("answers 429 with Retry-After once a key has made its requests, and enqueues nothing", async () => {
    for (let i = 0; i < 3; i++) await jsonOf(await enqueue(LIMITED, {}), 201);
    const before = await snapshot(app);
    const res = await call(app, "POST", "/v1/queues/web/jobs", {
      key: LIMITED,
      body: { task: "t" },
      headers: { Origin: "https://app.example" },
    });
    const problem = await expectProblem(res, 429);
    expect(problem.type).toBe("urn:edgeq:problem:rate-limited");
    // a one-day window ends at midnight UTC
    const untilMidnight = 86_400 - Math.floor((Date.now() / 1000) % 86_400);
    expect(Math.abs(Number(res.headers.get("Retry-After")) - untilMidnight)).toBeLessThanOrEqual(2);
    expect(await snapshot(app)).toEqual(before);
    // reads count too: the limit is on what the key costs, whatever it asks
    await expectProblem(await call(app, "GET", "/v1/queues/web", { key: LIMITED }), 429);
    // other keys have limits of their own
    await jsonOf(await enqueue(KEYS.browser, {}), 201);
  });

  it("lets a key limited to some queues depend only on jobs in them: others' jobs are not found", async () => {
    const elsewhere = await jsonOf(
      await call(app, "POST", "/v1/queues/private/jobs", { key: KEYS.admin, body: { task: "t" } }),
      201,
    );
    const before = await snapshot(app);
    const refused = await expectProblem(await enqueue(KEYS.browser, { dependsOn: [elsewhere.id] }), 400);
    expect(refused.errors).toEqual([{ field: "options.dependsOn", message: `no job with id "${elsewhere.id}"` }]);
    expect(await snapshot(app)).toEqual(before);
    const mine = await jsonOf(await enqueue(KEYS.browser, {}), 201);
    expect(await jsonOf(await enqueue(KEYS.browser, { dependsOn: [mine.id] }), 201)).toMatchObject({
      status: "deferred",
    });
  });

  it("counts in fixed windows: the next window starts from zero", async () => {
    const run = (now: number) =>
      scripts.countRequest.run(scriptRunner(redis), Keys.forPrefix(prefix), {
        now,
        key: "window-test",
        requests: 2,
        windowMs: 60_000,
      });
    const start = (Math.floor(Date.now() / 60_000) + 1) * 60_000; // the next window's first millisecond
    expect(await run(start)).toEqual({ allowed: true, count: 1, resetAt: start + 60_000 });
    expect(await run(start + 59_999)).toMatchObject({ allowed: true, count: 2 });
    expect(await run(start + 59_999)).toEqual({ allowed: false, count: 3, resetAt: start + 60_000 });
    expect(await run(start + 60_000)).toEqual({ allowed: true, count: 1, resetAt: start + 120_000 });
  });
});
