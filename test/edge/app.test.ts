// Cross-cutting behaviour: health, the OpenAPI document, CORS, security
// headers, request ids, what each kind of key sees, and errors that must not
// leak anything.
import { Redis } from "@upstash/redis/cloudflare";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { createApp } from "../../edge/app.ts";
import { Keys } from "../../shared/index.ts";
import { scriptRunner } from "../../shared/redis.ts";
import * as scripts from "../../shared/scripts/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { API_KEYS, call, expectProblem, failJob, jsonOf, KEYS, makeApp, redis, start } from "./support.ts";

const prefix = uniquePrefix("app");
const app = makeApp(prefix, { corsOrigins: ["https://app.example"] });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("public routes", () => {
  it("answers /healthz without a key, with security headers and a request id", async () => {
    const res = await call(app, "GET", "/healthz");
    expect(await jsonOf(res, 200)).toEqual({ status: "ok" });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("x-request-id")).toMatch(/^[\w-]+$/);
  });

  it("keeps a client's request id", async () => {
    const res = await call(app, "GET", "/healthz", { headers: { "X-Request-Id": "trace-abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("trace-abc-123");
  });

  it("serves an OpenAPI document listing every route, generated from the schemas", async () => {
    const doc = await jsonOf<{
      openapi: string;
      paths: Record<
        string,
        Record<string, { security?: unknown[]; description?: string; responses: Record<string, unknown> }>
      >;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    }>(await call(app, "GET", "/openapi.json"), 200);
    expect(doc.openapi).toBe("3.1.0");
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        "POST /v1/queues/{queue}/jobs",
        "POST /v1/queues/{queue}/jobs/batch",
        "GET /v1/jobs/{id}",
        "GET /v1/jobs/{id}/events",
        "DELETE /v1/jobs/{id}",
        "POST /v1/jobs/{id}/requeue",
        "GET /v1/jobs/{id}/attempts",
        "GET /v1/jobs/{id}/steps",
        "GET /v1/jobs/{id}/logs",
        "POST /v1/queues/{queue}/events/{event}",
        "GET /v1/queues/{queue}/events",
        "GET /v1/queues",
        "GET /v1/queues/{queue}",
        "PATCH /v1/queues/{queue}",
        "GET /v1/queues/{queue}/jobs",
        "GET /v1/queues/{queue}/throughput",
        "POST /v1/queues/{queue}/pause",
        "POST /v1/queues/{queue}/resume",
        "POST /v1/queues/{queue}/requeue",
        "POST /v1/queues/{queue}/empty",
        "POST /v1/queues/{queue}/clean",
        "GET /v1/queues/{queue}/groups",
        "PATCH /v1/queues/{queue}/groups/{group}",
        "POST /v1/hooks/{hook}",
        "PUT /v1/schedules/{name}",
        "GET /v1/schedules",
        "GET /v1/schedules/{name}",
        "DELETE /v1/schedules/{name}",
      ].sort(),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["Job", "Problem", "Queue", "BatchRequest"]),
    );
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/v1/jobs/{id}"]!.get!.security).toEqual([{ apiKey: [] }]);
    // its signature is the webhook intake's credential: it says so, rather than leaving security out
    expect(doc.paths["/v1/hooks/{hook}"]!.post!.security).toEqual([]);
    // every route that takes a key may answer 429; the webhook intake takes none
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses).includes("429"), `${method} ${path}`).toBe(op.security!.length > 0);
      }
    }
    // EventSource cannot send a key, so a browser has to read the stream with fetch
    expect(doc.paths["/v1/jobs/{id}/events"]!.get!.description).toMatch(
      /fetch\(\).*EventSource cannot send.*Authorization/,
    );
  });
});

describe("CORS", () => {
  const preflight = (origin: string, target = app) =>
    call(target, "OPTIONS", "/v1/queues/web/jobs", {
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
      },
    });

  it("allows a listed origin's preflight, with the headers a browser client sends", async () => {
    const res = await preflight("https://app.example");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization.*Content-Type.*Idempotency-Key/);
    expect(res.headers.get("access-control-allow-methods")?.split(",")).toEqual(
      expect.arrayContaining(["POST", "PATCH", "PUT", "DELETE"]),
    );
  });

  it("does not allow an origin that is not listed, nor any when none are", async () => {
    expect((await preflight("https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    expect(
      (await preflight("https://app.example", makeApp(prefix))).headers.get("access-control-allow-origin"),
    ).toBeNull();
  });

  it("lets a listed origin read Location and the request id", async () => {
    const res = await call(app, "POST", "/v1/queues/web/jobs", {
      key: KEYS.browser,
      body: { task: "t" },
      headers: { Origin: "https://app.example" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-expose-headers")).toMatch(/Location.*Idempotency-Key.*X-Request-Id/);
  });
});

describe("keys", () => {
  it("a browser key enqueues and reads in its queue, and sees only its queue and no worker details", async () => {
    const p = uniquePrefix("browser");
    const own = makeApp(p);
    await call(own, "POST", "/v1/queues/other/jobs", { key: KEYS.admin, body: { task: "t" } });
    const job = await jsonOf(
      await call(own, "POST", "/v1/queues/web/jobs", { key: KEYS.browser, body: { task: "t", args: { n: 1 } } }),
      201,
    );
    expect(await jsonOf(await call(own, "GET", `/v1/jobs/${job.id}`, { key: KEYS.browser }), 200)).toMatchObject({
      id: job.id,
    });

    // a live worker, registered the way workers do it
    const now = Date.now();
    const state = {
      name: "worker-host-7.4242",
      queues: "web,other",
      pid: "4242",
      host: "worker-host-7",
      state: "idle",
    };
    await scripts.renew.run(scriptRunner(redis), Keys.forPrefix(p), {
      now,
      leaseMs: 30_000,
      worker: "worker-host-7.4242",
      state,
      entryTtlMs: 60_000,
      running: [],
    });

    type Listing = { queues: { name: string; workers: Record<string, unknown>[] }[] };
    const seen = await jsonOf<Listing>(await call(own, "GET", "/v1/queues", { key: KEYS.browser }), 200);
    expect(seen.queues.map((q) => q.name)).toEqual(["web"]);
    expect(seen.queues[0]!.workers).toEqual([{ state: "idle", heartbeat: now }]);

    const all = await jsonOf<Listing>(await call(own, "GET", "/v1/queues", { key: KEYS.admin }), 200);
    expect(all.queues.map((q) => q.name)).toEqual(["other", "web"]);
    expect(all.queues[1]!.workers[0]).toMatchObject({ name: "worker-host-7.4242", host: "worker-host-7", pid: 4242 });
  });

  it("shows keys without admin no stack traces, no list of the worker's tasks and no worker names", async () => {
    const p = uniquePrefix("redact");
    const own = makeApp(p);
    /** A job that fails once and is retried (an earlier attempt names its worker), then fails for good. */
    const failedTwice = async (error: { name: string; message: string; stack?: string }) => {
      const body = { task: "t", options: { retry: { max: 1 } } };
      const job = await jsonOf(await call(own, "POST", "/v1/queues/web/jobs", { key: KEYS.admin, body }), 201);
      for (const retryable of [true, false]) {
        await start(p, "web", job.id);
        await failJob(p, job.id, error, retryable);
      }
      return job.id;
    };
    const crashed = await failedTwice({
      name: "TypeError",
      message: "x is undefined",
      stack: "TypeError: x is undefined\n    at charge (/srv/billing/tasks.ts:41:7)",
    });
    const unknown = await failedTwice({
      name: "UnknownTaskError",
      message: 'task "t" (queue "web") is not registered with this worker; known tasks: charge, refund-all',
    });

    const seen = (path: string, key: string) => call(own, "GET", path, { key }).then((res) => res.text());
    // every route that shows a job, or its attempts, to a key without admin
    for (const text of [
      await seen(`/v1/jobs/${crashed}`, KEYS.browser),
      await seen(`/v1/jobs/${crashed}/events`, KEYS.browser),
      await seen(`/v1/jobs/${crashed}/attempts`, KEYS.browser),
      await seen(`/v1/jobs/${unknown}`, KEYS.reader),
      await seen(`/v1/jobs/${unknown}/events`, KEYS.browser),
      await seen(`/v1/jobs/${unknown}/attempts`, KEYS.browser),
      await seen("/v1/queues/web/jobs?status=failed", KEYS.browser),
    ]) {
      expect(text).toContain('"error":{');
      expect(text).not.toMatch(/stack|\/srv\/billing|refund-all|edge-test-worker/);
    }
    expect(JSON.parse(await seen(`/v1/jobs/${crashed}`, KEYS.browser)).error).toEqual({
      name: "TypeError",
      message: "x is undefined",
    });
    expect(JSON.parse(await seen(`/v1/jobs/${unknown}`, KEYS.browser)).error).toEqual({
      name: "UnknownTaskError",
      message: 'task "t" is not registered with the worker that took it',
    });
    // operators still see everything
    expect(JSON.parse(await seen(`/v1/jobs/${crashed}`, KEYS.admin)).error.stack).toContain(
      "/srv/billing/tasks.ts:41:7",
    );
    expect(JSON.parse(await seen(`/v1/jobs/${unknown}`, KEYS.webAdmin)).error.message).toContain("refund-all");
    expect(await seen(`/v1/jobs/${crashed}/attempts`, KEYS.admin)).toContain("edge-test-worker");
  });

  it("accepts a key configured by its SHA-256 alone", async () => {
    const key = "hashed-key-0123456789abcdef0123456789";
    const digest = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const hashed = createApp({ redis, prefix, apiKeys: [{ sha256: digest, scopes: ["read"] }] });
    expect((await call(hashed, "GET", "/v1/queues", { key })).status).toBe(200);
    await expectProblem(await call(hashed, "GET", "/v1/queues", { key: digest }), 401);
  });

  it("never echoes a presented key", async () => {
    const guess = "guessed-key-that-is-long-enough-0123";
    const res = await call(app, "GET", "/v1/queues", { key: guess });
    const problem = await expectProblem(res, 401);
    expect(JSON.stringify(problem)).not.toContain(guess);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="edgeq", error="invalid_token"');
  });
});

describe("failures inside", () => {
  it("answers 500 problem+json with only a request id when Redis refuses, and logs it", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    // the gateway with a wrong token: every command fails, as with a revoked Upstash token
    const down = new Redis({ url: inject("gatewayUrl"), token: "revoked-token", retry: false, enableTelemetry: false });
    const broken = createApp({ redis: down, apiKeys: API_KEYS });
    const res = await call(broken, "GET", "/v1/jobs/some-job", {
      key: KEYS.admin,
      headers: { "X-Request-Id": "req-500" },
    });
    const problem = await expectProblem(res, 500);
    expect(problem).toEqual({
      type: "about:blank",
      title: "Internal Server Error",
      status: 500,
      detail: "an unexpected error occurred (request req-500)",
    });
    expect(logged).toHaveBeenCalledOnce();
    const line = String(logged.mock.calls[0]![0]);
    expect(line).toContain("req-500");
    for (const key of Object.values(KEYS)) expect(line).not.toContain(key);
  });
});
