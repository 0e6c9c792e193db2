// The Workers entry: settings from bindings, exactly as Cloudflare hands them
// to `fetch(request, env, ctx)`.
import type { ExecutionContext } from "hono";
import { describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import worker from "../../edge/workers-entry.ts";
import type { EdgeEnv } from "../../edge/config.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { expectProblem, jsonOf, queue } from "./support.ts";

const KEY = "worker-entry-key-0123456789abcdef0123";
const prefix = uniquePrefix("worker");

const env: EdgeEnv = {
  UPSTASH_REDIS_REST_URL: inject("gatewayUrl"),
  UPSTASH_REDIS_REST_TOKEN: inject("gatewayToken"),
  API_KEYS: JSON.stringify([{ key: KEY, scopes: ["enqueue", "read"], queues: ["web"] }]),
  HOOKS: JSON.stringify({ gh: { queue: "web", task: "github.push", scheme: "github", secret: "s" } }),
  CORS_ORIGINS: "https://app.example, https://admin.example",
  EDGEQ_PREFIX: prefix,
  MAX_BODY_BYTES: "4096",
};

const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

function fetchWith(e: EdgeEnv, path: string, init: RequestInit = {}): Promise<Response> {
  return worker.fetch(new Request(`https://edgeq.example${path}`, init), e, ctx);
}

describe("the Workers entry", () => {
  it("serves the app with the settings from its bindings", async () => {
    expect((await fetchWith(env, "/healthz")).status).toBe(200);

    const res = await fetchWith(env, "/v1/queues/web/jobs", {
      method: "POST",
      headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json", Origin: "https://admin.example" },
      body: JSON.stringify({ task: "echo", args: { from: "worker" } }),
    });
    const job = await jsonOf(res, 201);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://admin.example");
    // written under EDGEQ_PREFIX, where the workers look
    expect(await queue(prefix, "web").getJob(job.id)).toMatchObject({ args: { from: "worker" } });

    const big = await fetchWith(env, "/v1/queues/web/jobs", {
      method: "POST",
      headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ task: "echo", args: "x".repeat(5000) }),
    });
    await expectProblem(big, 413);
  });

  it("answers 500 problem+json, naming no secret, when a setting is invalid", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const secret = "half-a-secret-[{";
    const res = await fetchWith({ ...env, API_KEYS: secret }, "/healthz");
    const problem = await expectProblem(res, 500);
    expect(problem.title).toBe("edgeq is misconfigured");
    expect(JSON.stringify(problem)).not.toContain(secret);
    const line = String(logged.mock.calls[0]![0]);
    expect(line).toContain("API_KEYS is not valid JSON");
    expect(line).not.toContain(secret);
    logged.mockRestore();
  });

  it("names every bad setting at once", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const badKeys = JSON.stringify([{ key: "short", scopes: ["root"] }]);
    await expectProblem(await fetchWith({ ...env, API_KEYS: badKeys, MAX_BODY_BYTES: "lots" }, "/healthz"), 500);
    const line = String(logged.mock.calls[0]![0]);
    expect(line).toMatch(/API_KEYS\.0\.key.*API_KEYS\.0\.scopes\.0.*MAX_BODY_BYTES/);
    expect(line).not.toContain('"short"');
    logged.mockRestore();
  });
});
