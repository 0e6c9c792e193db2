// The producer API's enqueue and enqueueMany (shared/queue.ts) against a real
// redis-server: the job view they answer and what they leave in Redis, ids a
// client chooses, atFront, delays and runAt; and a batch written whole or not
// at all.
import { describe, expect, it } from "vitest";
import { DEFAULTS, JobIdTakenError, Queue, ValidationError, type JobOptions } from "../shared/index.ts";
import { connectForFile, redis } from "./support/connection.ts";
import { freshQueues } from "./support/prefixes.ts";
import { expectRefused, rejection } from "./support/refusals.ts";
import { claimAll } from "./support/scripts.ts";

connectForFile();

const VIEW_FIELDS = [
  "args",
  "attempts",
  "callback",
  "createdAt",
  "dependsOn",
  "endedAt",
  "group",
  "stepCount",
  "waitingFor",
  "enqueuedAt",
  "error",
  "id",
  "meta",
  "progress",
  "queue",
  "result",
  "startedAt",
  "status",
  "task",
].sort();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A queue under a key prefix of its own, so every test starts from an empty keyspace. */
const fresh = freshQueues("queue-enqueue", () => redis);

describe("enqueue", () => {
  it("returns the job view with its defaults and stores the options a worker needs", async () => {
    const { queue, keys } = fresh();
    const before = Date.now();
    const view = await queue.enqueue("echo", { hello: "world" });
    const after = Date.now();

    expect(Object.keys(view).sort()).toEqual(VIEW_FIELDS);
    expect(view).toMatchObject({
      queue: "default",
      task: "echo",
      status: "queued",
      args: { hello: "world" },
      meta: {},
      result: null,
      error: null,
      attempts: 0,
      startedAt: null,
      endedAt: null,
      progress: null,
      dependsOn: [],
      callback: null,
    });
    expect(view.id).toMatch(UUID);
    expect(view.createdAt).toBeGreaterThanOrEqual(before);
    expect(view.createdAt).toBeLessThanOrEqual(after);
    expect(view.enqueuedAt).toBe(view.createdAt);

    const hash = await redis.hgetall(keys.job(view.id));
    expect(hash).toMatchObject({
      id: view.id,
      queue: "default",
      task: "echo",
      status: "queued",
      attempts: "0",
      timeoutMs: String(DEFAULTS.timeoutMs),
      resultTtlSec: "500",
      failureTtlSec: String(365 * 24 * 3600),
    });
    expect(JSON.parse(hash.args!)).toEqual({ hello: "world" });
    for (const absent of [
      "ttlSec",
      "retry",
      "runAt",
      "dependsOn",
      "atFront",
      "callbackUrl",
      "workerName",
      "result",
      "error",
    ]) {
      expect(hash).not.toHaveProperty(absent);
    }
    expect(await redis.pttl(keys.job(view.id))).toBe(-1);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([view.id]);
    expect(await redis.zrange(keys.queues(), "0", "-1")).toEqual(["default"]);

    expect(await queue.getJob(view.id)).toEqual(view);
  });

  it("stores null args when none are given, and every option it is given", async () => {
    const { queue, keys } = fresh();
    const options: JobOptions = {
      timeoutMs: 5_000,
      resultTtlSec: 60,
      failureTtlSec: 120,
      ttlSec: 30,
      retry: { max: 2, backoff: { type: "exponential", delayMs: 100 } },
      callbackUrl: "https://example.com/hook",
      meta: { user: "u1", tags: ["a", "b"] },
    };
    const view = await queue.enqueue("noop", undefined, options);
    expect(view.args).toBeNull();
    expect(view.meta).toEqual({ user: "u1", tags: ["a", "b"] });

    const hash = await redis.hgetall(keys.job(view.id));
    expect(hash).toMatchObject({
      args: "null",
      timeoutMs: "5000",
      resultTtlSec: "60",
      failureTtlSec: "120",
      ttlSec: "30",
      callbackUrl: "https://example.com/hook",
    });
    expect(JSON.parse(hash.retry!)).toEqual(options.retry);
  });

  it("getJob returns null for an id it does not know, and refuses a malformed id", async () => {
    const { queue } = fresh();
    expect(await queue.getJob("never-enqueued")).toBeNull();
    const error = await rejection(queue.getJob("not an id"));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.field)).toEqual(["id"]);
  });

  it("treats a client-chosen id as the job's name: enqueuing it again returns the same job", async () => {
    const { queue, keys, prefix } = fresh();
    const first = await queue.enqueue("charge", { amount: 1 }, { id: "order-42" });
    expect(first.id).toBe("order-42");
    const again = await queue.enqueue("charge", { amount: 999 }, { id: "order-42" });
    expect(again).toEqual(first);

    const [submitted] = await queue.submit([{ task: "charge", args: { amount: 2 }, options: { id: "order-42" } }]);
    expect(submitted!.created).toBe(false);
    expect(submitted!.job).toEqual(first);

    expect(await redis.keys(`{${prefix}}:job:*`)).toEqual([keys.job("order-42")]);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual(["order-42"]);
    expect(JSON.parse((await redis.hget(keys.job("order-42"), "args"))!)).toEqual({ amount: 1 });
  });

  it("refuses a client-chosen id taken in another queue, naming it, and writes nothing", async () => {
    const { queue, prefix } = fresh();
    await queue.enqueue("charge", { amount: 1 }, { id: "order-43" });
    const other = new Queue("other", { redis, prefix });
    const before = await redis.keys(`{${prefix}}:*`);
    const error = await rejection(other.enqueue("charge", { amount: 2 }, { id: "order-43" }));
    expect(error).toBeInstanceOf(JobIdTakenError);
    expect((error as JobIdTakenError).message).toContain('"order-43"');
    expect((await redis.keys(`{${prefix}}:*`)).sort()).toEqual(before.sort());
  });

  it("puts an atFront job at the head of the queue list", async () => {
    const { queue, keys } = fresh();
    const a = await queue.enqueue("t", 1);
    const b = await queue.enqueue("t", 2);
    const c = await queue.enqueue("t", 3, { atFront: true });
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([c.id, a.id, b.id]);
    expect(await claimAll(queue)).toEqual([c.id, a.id, b.id]);
  });

  it("schedules a job with delayMs at createdAt + delayMs, outside the queue list", async () => {
    const { queue, keys } = fresh();
    const view = await queue.enqueue("later", null, { delayMs: 60_000 });
    expect(view.status).toBe("scheduled");
    expect(view.enqueuedAt).toBeNull();
    expect(Number(await redis.zscore(keys.registry("scheduled", "default"), view.id))).toBe(view.createdAt + 60_000);
    expect(await redis.hget(keys.job(view.id), "runAt")).toBe(String(view.createdAt + 60_000));
    expect(await redis.zcard(keys.waiting("default"))).toBe(0);
    // not due yet: a claim now takes nothing
    expect(await claimAll(queue)).toEqual([]);
    expect((await queue.getJob(view.id))!.status).toBe("scheduled");
  });

  it("schedules at runAt given as epoch ms, ISO string or Date, and queues a runAt in the past", async () => {
    const { queue, keys } = fresh();
    const at = Date.now() + 3_600_000;
    const asNumber = await queue.enqueue("t", null, { runAt: at });
    const asIso = await queue.enqueue("t", null, { runAt: new Date(at + 1).toISOString() });
    const asDate = await queue.enqueue("t", null, { runAt: new Date(at + 2) });
    const past = await queue.enqueue("t", null, { runAt: Date.now() - 1_000 });
    const scheduled = keys.registry("scheduled", "default");
    expect([asNumber.status, asIso.status, asDate.status]).toEqual(["scheduled", "scheduled", "scheduled"]);
    expect(Number(await redis.zscore(scheduled, asNumber.id))).toBe(at);
    expect(Number(await redis.zscore(scheduled, asIso.id))).toBe(at + 1);
    expect(Number(await redis.zscore(scheduled, asDate.id))).toBe(at + 2);
    expect(past.status).toBe("queued");
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([past.id]);
  });
});

describe("enqueueMany", () => {
  it("enqueues every job in order in one call", async () => {
    const { queue, keys } = fresh();
    const views = await queue.enqueueMany([
      { task: "a", args: 1 },
      { task: "b", args: 2, options: { id: "job-b" } },
      { task: "c", options: { delayMs: 10_000 } },
    ]);
    expect(views.map((v) => [v.task, v.status])).toEqual([
      ["a", "queued"],
      ["b", "queued"],
      ["c", "scheduled"],
    ]);
    expect(views[1]!.id).toBe("job-b");
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([views[0]!.id, "job-b"]);
    for (const v of views) expect(await queue.getJob(v.id)).toEqual(v);
  });

  it("writes nothing when one job of the batch is invalid, and names it jobs.<i>.<field>", async () => {
    const env = fresh();
    await expectRefused(
      env,
      (q) =>
        q.enqueueMany([
          { task: "ok", args: 1 },
          { task: "bad task!", args: 2 },
          { task: "ok", args: 3 },
        ]),
      "jobs.1.task",
    );
    await expectRefused(
      env,
      (q) => q.enqueueMany([{ task: "ok" }, { task: "ok" }, { task: "ok", options: { retry: { max: 0.5 } } }]),
      "jobs.2.options.retry.max",
    );
  });

  it("writes nothing when one job's args are over the size limit", async () => {
    const env = fresh("default", { maxArgsBytes: 100 });
    await expectRefused(
      env,
      (q) =>
        q.enqueueMany([
          { task: "ok", args: "x" },
          { task: "ok", args: "x".repeat(200) },
        ]),
      "jobs.1.args",
    );
  });

  it("refuses a batch that names the same id twice", async () => {
    const env = fresh();
    await expectRefused(
      env,
      (q) =>
        q.enqueueMany([{ task: "a", options: { id: "dup" } }, { task: "b" }, { task: "c", options: { id: "dup" } }]),
      "jobs.2.options.id",
    );
  });

  it("writes nothing when one job of the batch depends on a job that does not exist", async () => {
    const env = fresh();
    const error = await expectRefused(
      env,
      (q) =>
        q.enqueueMany([
          { task: "a", options: { id: "first" } },
          { task: "b", options: { dependsOn: ["ghost"] } },
        ]),
      /options\.dependsOn$/,
    );
    expect(error.message).toContain("ghost");
    // a batch refusal names the job it is about, as validation refusals do
    expect(error.issues.map((i) => i.field)).toContain("jobs.1.options.dependsOn");
  });

  it("refuses an empty batch", async () => {
    const env = fresh();
    await expectRefused(env, (q) => q.enqueueMany([]), "jobs");
  });
});
