// A durable job's steps over HTTP, inside workerd: in the job's view and in
// GET /v1/jobs/:id/steps, with their results for admin keys only; events
// that resume the jobs awaiting them, sent over HTTP and by a webhook.
import { describe, expect, it } from "vitest";
import type { JobView } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import type { HookConfig } from "../../edge/config.ts";
import {
  awaitEvent,
  call,
  expectProblem,
  finish,
  jsonOf,
  KEYS,
  makeApp,
  queue,
  recordStep,
  snapshot,
  start,
} from "./support.ts";

const HOOK_SECRET = "payments-hook-secret";
const HOOKS: Record<string, HookConfig> = {
  // the payment provider's webhook resumes the checkout waiting for its order: no job of its own
  payments: { queue: "pay", scheme: "hmac", secret: HOOK_SECRET, event: "type", key: "data.order" },
};

const prefix = uniquePrefix("steps");
const app = makeApp(prefix, { hooks: HOOKS });

/** A job started and awaiting an event, as a worker leaves it for ctx.waitForEvent. */
async function awaiting(event: string, key?: string, queueName = "web") {
  const job = await queue(prefix, queueName).enqueue("checkout", {});
  await start(prefix, queueName, job.id);
  await awaitEvent(prefix, job.id, "paid", event, key);
  return job;
}

async function hmacHex(body: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(HOOK_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(body)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

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
    const plain = await queue(prefix, "plain").enqueue("t");
    const listed = await jsonOf<{ steps: unknown[] }>(
      await call(app, "GET", `/v1/jobs/${plain.id}/steps`, { key: KEYS.reader }),
      200,
    );
    expect(listed.steps).toEqual([]);
    const elsewhere = await queue(prefix, "other").enqueue("t");
    await expectProblem(await call(app, "GET", `/v1/jobs/${elsewhere.id}/steps`, { key: KEYS.browser }), 404);
  });
});

describe("events over HTTP", () => {
  it("resumes the jobs awaiting an event and its key, each with the event's data", async () => {
    const mine = await awaiting("payment.succeeded", "order-1");
    const any = await awaiting("payment.succeeded");
    const other = await awaiting("payment.succeeded", "order-2");
    expect((await queue(prefix, "web").getJob(mine.id))!.status).toBe("awaiting");
    const res = await call(app, "POST", "/v1/queues/web/events/payment.succeeded", {
      key: KEYS.browser,
      body: { key: "order-1", data: { amount: 42 } },
    });
    expect(await jsonOf(res, 200)).toEqual({ resumed: 2, more: false });
    for (const job of [mine, any]) {
      const seen = (await queue(prefix, "web").getJob(job.id))!;
      expect(seen.status).toBe("queued");
      expect(seen.steps!.map((s) => [s.id, s.result])).toEqual([["paid", { amount: 42 }]]);
    }
    expect((await queue(prefix, "web").getJob(other.id))!.status).toBe("awaiting");
    const none = await call(app, "POST", "/v1/queues/web/events/payment.refunded", { key: KEYS.browser });
    expect(await jsonOf(none, 200)).toEqual({ resumed: 0, more: false });
  });

  it("refuses a bad event name with 400, data past the limit with 413, a key without enqueue with 403", async () => {
    const before = await snapshot(app);
    const bad = await call(app, "POST", "/v1/queues/web/events/no%20spaces", { key: KEYS.admin, body: {} });
    expect((await expectProblem(bad, 400)).errors?.[0]?.field).toBe("event");
    const big = { data: "x".repeat(600 * 1024) };
    const tooLarge = await call(app, "POST", "/v1/queues/web/events/e", { key: KEYS.admin, body: big });
    expect((await expectProblem(tooLarge, 413)).errors?.[0]?.field).toBe("data");
    await expectProblem(await call(app, "POST", "/v1/queues/web/events/e", { key: KEYS.reader, body: {} }), 403);
    expect(await snapshot(app)).toEqual(before);
  });

  it("resumes a job awaiting a payment from the provider's signed webhook, with its body", async () => {
    const job = await awaiting("payment_intent.succeeded", "order-9", "pay");
    const body = JSON.stringify({ type: "payment_intent.succeeded", data: { order: "order-9", amount: 9 } });
    const res = await call(app, "POST", "/v1/hooks/payments", {
      body,
      headers: { "Content-Type": "application/json", "X-Signature": `sha256=${await hmacHex(body)}` },
    });
    expect(await jsonOf(res, 202)).toMatchObject({ status: null, resumed: 1 });
    const seen = (await queue(prefix, "pay").getJob(job.id))!;
    expect(seen.status).toBe("queued");
    expect(seen.steps![0]!.result).toEqual({ type: "payment_intent.succeeded", data: { order: "order-9", amount: 9 } });
  });
});
