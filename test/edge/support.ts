// Helpers for the edge tests, which run inside workerd: the app under test,
// its keys, requests, problem checks, and moving jobs through the real Lua
// state machine (what a worker would do) without running a worker.
import { Redis } from "@upstash/redis/cloudflare";
import { expect, inject } from "vitest";
import { createApp, type AppConfig } from "../../edge/app.ts";
import type { ApiKeyConfig } from "../../edge/config.ts";
import { Keys, Queue, type JobError, type JobView } from "../../shared/index.ts";
import { scriptRunner } from "../../shared/redis.ts";
import * as scripts from "../../shared/scripts/index.ts";

export const redis = new Redis({ url: inject("gatewayUrl"), token: inject("gatewayToken"), enableTelemetry: false });

export const KEYS = {
  admin: "admin-key-0123456789abcdef0123456789",
  /** enqueue + read on queue "web": the key a browser may hold. */
  browser: "browser-key-0123456789abcdef012345678",
  reader: "reader-key-0123456789abcdef0123456789",
  enqueuer: "enqueue-key-0123456789abcdef012345678",
  /** admin, but only on queue "web". */
  webAdmin: "web-admin-key-0123456789abcdef01234567",
  /** metrics only: what a Prometheus scraper holds. */
  scraper: "scraper-key-0123456789abcdef0123456789",
} as const;

export const API_KEYS: ApiKeyConfig[] = [
  { name: "admin", key: KEYS.admin, scopes: ["admin"] },
  { name: "browser", key: KEYS.browser, scopes: ["enqueue", "read"], queues: ["web"] },
  { name: "reader", key: KEYS.reader, scopes: ["read"] },
  { name: "enqueuer", key: KEYS.enqueuer, scopes: ["enqueue"] },
  { name: "web-admin", key: KEYS.webAdmin, scopes: ["admin"], queues: ["web"] },
  { name: "scraper", key: KEYS.scraper, scopes: ["metrics"] },
];

export function makeApp(
  prefix: string,
  extra: Partial<Pick<AppConfig, "apiKeys" | "hooks" | "corsOrigins" | "maxBodyBytes" | "traceUrl">> = {},
) {
  return createApp({ redis, prefix, apiKeys: API_KEYS, ...extra });
}

export type App = ReturnType<typeof makeApp>;

export interface Call {
  key?: string;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export function call(
  app: App,
  method: string,
  path: string,
  { key, body, headers = {} }: Call = {},
): Promise<Response> {
  const init: RequestInit = { method, headers: { ...headers } };
  const h = init.headers as Record<string, string>;
  if (key) h.Authorization ??= `Bearer ${key}`;
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    h["Content-Type"] ??= "application/json";
  }
  return Promise.resolve(app.request(`http://edge.test${path}`, init));
}

export async function jsonOf<T = JobView>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** Asserts an RFC 9457 problem with the status; returns its body. */
export async function expectProblem(res: Response, status: number) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = JSON.parse(text) as {
    type: string;
    title: string;
    status: number;
    detail?: string;
    errors?: { field: string; message: string }[];
  };
  expect(body).toMatchObject({ type: expect.any(String), title: expect.any(String), status });
  expect(text).not.toMatch(/\bat .+:\d+:\d+|stack/i);
  for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
  return body;
}

/** Counts per queue, as the API reports them: the witness that a refusal wrote nothing. */
export async function snapshot(app: App): Promise<unknown> {
  return jsonOf(await call(app, "GET", "/v1/queues", { key: KEYS.admin }), 200);
}

export function queue(prefix: string, name: string): Queue {
  return new Queue(name, { redis, prefix });
}

const runner = scriptRunner(redis);
/** The worker name the helpers below claim and report as. */
export const WORKER = "edge-test-worker";

/** Claims the next job of a queue as a worker would, and checks it is the one expected. */
export async function start(prefix: string, queueName: string, id: string): Promise<void> {
  const step = await scripts.claim.run(runner, Keys.forPrefix(prefix), {
    now: Date.now(),
    worker: WORKER,
    next: { leaseMs: 60_000, max: 1, queues: [queueName] },
  });
  expect(step.jobs.map((j) => j.id)).toEqual([id]);
}

/** A started job as its worker holds it: its id and the claim (lease token) it was taken by. */
async function held(prefix: string, id: string): Promise<scripts.Held> {
  return { id, claim: Number(await redis.hget(Keys.forPrefix(prefix).job(id), "claims")) };
}

export async function finish(prefix: string, id: string, result: unknown): Promise<void> {
  const report = {
    now: Date.now(),
    worker: WORKER,
    jobs: [{ ...(await held(prefix, id)), result: JSON.stringify(result) }],
  };
  expect((await scripts.complete.run(runner, Keys.forPrefix(prefix), report)).reported[0]!.ok).toBe(true);
}

/** Records a step of a started job as its worker would (ctx.step). */
export async function recordStep(prefix: string, id: string, step: string, result: unknown): Promise<void> {
  const now = Date.now();
  const call = {
    ...(await held(prefix, id)),
    worker: WORKER,
    step,
    result: JSON.stringify(result),
    startedAt: now,
    endedAt: now,
  };
  expect(await scripts.recordStep.run(runner, Keys.forPrefix(prefix), call)).toMatchObject({ ok: true });
}

/** Suspends a started job to await an event, as its worker does for ctx.waitForEvent. */
export async function awaitEvent(prefix: string, id: string, step: string, event: string, key = ""): Promise<void> {
  const call = {
    ...(await held(prefix, id)),
    worker: WORKER,
    now: Date.now(),
    step,
    until: Date.now() + 60_000,
    event,
    key,
  };
  expect(await scripts.suspend.run(runner, Keys.forPrefix(prefix), call)).toMatchObject({ ok: true });
}

/** Fails a started job as its worker would; retryable errors follow the job's retry policy. */
export async function failJob(prefix: string, id: string, error: string | JobError, retryable = false): Promise<void> {
  const report = {
    now: Date.now(),
    worker: WORKER,
    jobs: [
      {
        ...(await held(prefix, id)),
        error: typeof error === "string" ? { name: "Error", message: error } : error,
        retryable,
      },
    ],
  };
  expect((await scripts.fail.run(runner, Keys.forPrefix(prefix), report)).reported[0]!.ok).toBe(true);
}

/** Reports a running job's progress as its worker does. */
export async function report(prefix: string, id: string, update: scripts.ProgressUpdate): Promise<void> {
  const call = { ...(await held(prefix, id)), worker: WORKER, update };
  expect((await scripts.progress.run(runner, Keys.forPrefix(prefix), call)).ok).toBe(true);
}

/** Parses a text/event-stream body into events, as an EventSource would; ending the loop cancels the body. */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event?: string; id?: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(
          block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]),
        );
        yield { event: fields.event, id: fields.id, data: fields.data! };
      }
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel();
  }
}
