// An HTTP enqueue's W3C Trace Context, inside workerd: a well-formed
// traceparent (and a tracestate within bounds) is kept with the job and its
// trace id shown; a malformed one is ignored, the job still taken; and the
// dashboard links the trace where EDGEQ_TRACE_URL says.
import { describe, expect, it } from "vitest";
import { readEnv } from "../../edge/config.ts";
import { Keys } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { call, jsonOf, KEYS, makeApp, redis } from "./support.ts";

const prefix = uniquePrefix("edge-tracing");
const keys = Keys.forPrefix(prefix);
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const browser = { key: KEYS.browser };

function enqueue(app: ReturnType<typeof makeApp>, headers: Record<string, string>) {
  return call(app, "POST", "/v1/queues/web/jobs", { ...browser, body: { task: "echo" }, headers });
}

/** The trace fields of a job's hash (null: not written). */
async function traceFields(id: string): Promise<Record<string, unknown>> {
  const hash = (await redis.hgetall<Record<string, string>>(keys.job(id)))!;
  return { traceparent: hash.traceparent ?? null, tracestate: hash.tracestate ?? null };
}

describe("trace context from an HTTP enqueue", () => {
  const app = makeApp(prefix);

  it("keeps a browser's traceparent and tracestate, and shows the trace id", async () => {
    const job = await jsonOf(await enqueue(app, { traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" }), 201);
    expect(job.traceId).toBe(TRACE_ID);
    expect(await traceFields(job.id)).toEqual({ traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" });
    expect((await jsonOf(await call(app, "GET", `/v1/jobs/${job.id}`, browser), 200)).traceId).toBe(TRACE_ID);
  });

  it("ignores a malformed traceparent and drops an oversized tracestate, taking the job all the same", async () => {
    const malformed = await jsonOf(await enqueue(app, { traceparent: "00-not-a-trace-01", tracestate: "a=b" }), 201);
    expect(malformed).not.toHaveProperty("traceId");
    expect(await traceFields(malformed.id)).toEqual({ traceparent: null, tracestate: null });

    const oversized = await jsonOf(
      await enqueue(app, { traceparent: TRACEPARENT, tracestate: "a=b,".repeat(500) }),
      201,
    );
    expect(await traceFields(oversized.id)).toEqual({ traceparent: TRACEPARENT, tracestate: null });
  });

  it("keeps it with every job of a batch", async () => {
    const body = { jobs: [{ task: "echo" }, { task: "echo" }] };
    const res = await call(app, "POST", "/v1/queues/web/jobs/batch", {
      ...browser,
      body,
      headers: { traceparent: TRACEPARENT },
    });
    const { jobs } = await jsonOf<{ jobs: { traceId?: string }[] }>(res, 201);
    expect(jobs.map((j) => j.traceId)).toEqual([TRACE_ID, TRACE_ID]);
  });

  it("the dashboard links the trace where EDGEQ_TRACE_URL says, and shows the bare id without it", async () => {
    const job = await jsonOf(await enqueue(app, { traceparent: TRACEPARENT }), 201);
    const view = (a: ReturnType<typeof makeApp>) => call(a, "GET", `/dashboard/view/jobs/${job.id}`, browser);
    const linked = await (await view(makeApp(prefix, { traceUrl: "https://tracing.example/trace/{traceId}" }))).text();
    expect(linked).toContain(`href="https://tracing.example/trace/${TRACE_ID}"`);
    const bare = await (await view(app)).text();
    expect(bare).toContain(TRACE_ID);
    expect(bare).not.toContain("tracing.example");
  });
});

describe("EDGEQ_TRACE_URL", () => {
  const env = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079", UPSTASH_REDIS_REST_TOKEN: "t" };

  it("is an http(s) template holding {traceId}", () => {
    expect(readEnv({ ...env, EDGEQ_TRACE_URL: "https://tracing.example/trace/{traceId}" }).traceUrl).toBe(
      "https://tracing.example/trace/{traceId}",
    );
    expect(readEnv(env).traceUrl).toBeUndefined();
    expect(() => readEnv({ ...env, EDGEQ_TRACE_URL: "javascript:alert(1)//{traceId}" })).toThrow(/EDGEQ_TRACE_URL/);
    expect(() => readEnv({ ...env, EDGEQ_TRACE_URL: "https://tracing.example/trace/" })).toThrow(/\{traceId\}/);
  });
});
