// The producer API (shared/queue.ts) against a real redis-server: what
// enqueue, enqueueMany, getJob, cancel, requeue, counts and waitFor leave in
// Redis and show in the job view, and that refused input writes nothing.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  DEFAULTS,
  JobIdTakenError,
  JobNotFoundError,
  JobStateError,
  Queue,
  ValidationError,
  type JobOptions,
} from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import type { Keys } from "../shared/keys.ts";
import type { ScriptRunner } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import { startRedisServer } from "./support/redis.ts";
import { freshQueues, uniquePrefix } from "./support/prefixes.ts";
import { until } from "./support/worker.ts";

const url = inject("redisUrl");
const VIEW_FIELDS = [
  "args",
  "attempts",
  "callback",
  "createdAt",
  "dependsOn",
  "endedAt",
  "group",
  "stepCount",
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

let redis: Redis;
let other: Redis;
let runner: ScriptRunner;

beforeAll(() => {
  redis = new Redis(url);
  other = new Redis(url);
  runner = scriptRunner(redis);
});

afterAll(async () => {
  await redis.quit();
  await other.quit();
});

/** A queue under a key prefix of its own, so every test starts from an empty keyspace. */
const fresh = freshQueues("queue", () => redis);

/** Every key under the prefix with its type, content and whether it expires. */
async function snapshot(prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys(`{${prefix}}:*`)).sort()) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === "hash") value = await redis.hgetall(key);
    else if (type === "list") value = await redis.lrange(key, 0, -1);
    else if (type === "zset") value = await redis.zrange(key, "0", "-1", "WITHSCORES");
    else if (type === "set") value = (await redis.smembers(key)).sort();
    else value = await redis.get(key);
    out[key] = { type, value, expires: (await redis.pttl(key)) >= 0 };
  }
  return out;
}

async function keyCount(prefix: string): Promise<number> {
  return (await redis.keys(`{${prefix}}:*`)).length;
}

/** Awaits a rejection and returns the error, failing the test if there is none. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a result");
}

/**
 * Runs an operation that must be refused with a ValidationError naming
 * `field`, on a queue that already holds a job, and checks that Redis is
 * exactly as before.
 */
async function expectRefused(
  env: { prefix: string; queue: Queue },
  op: (queue: Queue) => Promise<unknown>,
  field: string | RegExp,
): Promise<ValidationError> {
  if ((await keyCount(env.prefix)) === 0) await env.queue.enqueue("existing", { n: 0 });
  const before = await snapshot(env.prefix);
  const error = await rejection(op(env.queue));
  expect(error).toBeInstanceOf(ValidationError);
  const issues = (error as ValidationError).issues;
  const fields = issues.map((i) => i.field);
  if (typeof field === "string") expect(fields).toContain(field);
  else
    expect(
      fields.some((f) => field.test(f)),
      `fields ${JSON.stringify(fields)}`,
    ).toBe(true);
  expect((error as ValidationError).status).toBe(400);
  expect(await snapshot(env.prefix)).toEqual(before);
  return error as ValidationError;
}

async function claimAll(queue: Queue, worker = "w1", now = Date.now(), r: ScriptRunner = runner): Promise<string[]> {
  const step = await scripts.claim.run(r, queue.keys, {
    now: now,
    worker: worker,
    next: { leaseMs: 30_000, max: 100, queues: [queue.name] },
  });
  return step.jobs.map((j) => j.id);
}

/** What a worker reports of a job it holds: a result, or an error (retryable unless said otherwise). */
async function report(
  keys: Keys,
  id: string,
  outcome: { result: unknown } | { error: { name: string; message: string }; retryable?: boolean },
  { worker = "w1", r = runner }: { worker?: string; r?: ScriptRunner } = {},
): Promise<{ ok: boolean; status: string | null }> {
  const base = { now: Date.now(), worker };
  const step =
    "result" in outcome
      ? await scripts.complete.run(r, keys, { ...base, jobs: [{ id, result: JSON.stringify(outcome.result) }] })
      : await scripts.fail.run(r, keys, {
          ...base,
          jobs: [{ id, error: outcome.error, retryable: outcome.retryable ?? true }],
        });
  return step.reported[0]!;
}

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

describe("bad input is refused with a ValidationError naming the field, and nothing is written", () => {
  it("refuses an invalid queue name when the Queue is made", () => {
    for (const name of ["bad name!", "", "x".repeat(65), "a/b", "{edgeq}"]) {
      let error: unknown;
      try {
        new Queue(name, { redis });
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toEqual(["queue"]);
    }
    expect(new Queue("x".repeat(64), { redis }).name).toHaveLength(64);
  });

  it("refuses an invalid job id", async () => {
    const env = fresh();
    for (const id of ["has space", "", "x".repeat(129), "a/b", "é"]) {
      await expectRefused(env, (q) => q.enqueue("t", null, { id }), "options.id");
    }
    const ok = await env.queue.enqueue("t", null, { id: `A-z_0.9:${"x".repeat(120)}` });
    expect(ok.id).toHaveLength(128);
  });

  it("refuses an invalid task name", async () => {
    const env = fresh();
    for (const task of ["bad task", "", "x".repeat(129), "rm -rf", "a\nb"]) {
      await expectRefused(env, (q) => q.enqueue(task), "task");
    }
  });

  it("refuses args that are not JSON", async () => {
    const env = fresh();
    class Point {
      x = 1;
    }
    const notJson: [string, unknown][] = [
      ["a function", () => 1],
      ["undefined inside an object", { a: undefined }],
      ["undefined inside an array", [1, undefined]],
      ["NaN", NaN],
      ["Infinity", Infinity],
      ["-Infinity", { deep: { x: -Infinity } }],
      ["a Date", new Date()],
      ["a Map", new Map([["a", 1]])],
      ["a Set", new Set([1])],
      ["a BigInt", 10n],
      ["a class instance", new Point()],
      ["a symbol", Symbol("s")],
      ["NaN nested", { a: [1, { b: NaN }] }],
    ];
    for (const [label, args] of notJson) {
      const error = await expectRefused(env, (q) => q.enqueue("t", args), /^args(\.|$)/);
      expect(error.message, label).toMatch(/^args/);
    }
  });

  it("refuses args over the default 512 KiB, counting bytes of JSON", async () => {
    const env = fresh();
    const limit = DEFAULTS.maxArgsBytes;
    expect(limit).toBe(512 * 1024);
    // a JSON string is its characters plus two quotes
    const atLimit = await env.queue.enqueue("t", "x".repeat(limit - 2));
    expect((atLimit.args as string).length).toBe(limit - 2);
    const error = await expectRefused(env, (q) => q.enqueue("t", "x".repeat(limit - 1)), "args");
    expect(error.message).toContain(String(limit));
    // bytes, not characters: "é" is two bytes of UTF-8
    await expectRefused(env, (q) => q.enqueue("t", "é".repeat(limit / 2)), "args");
  });

  it("honours the maxArgsBytes option", async () => {
    const env = fresh("default", { maxArgsBytes: 100 });
    await env.queue.enqueue("t", "x".repeat(98));
    await expectRefused(env, (q) => q.enqueue("t", "x".repeat(99)), "args");
    await expectRefused(env, (q) => q.enqueue("t", { list: Array.from({ length: 50 }, (_, i) => i) }), "args");
  });

  it("refuses unknown options", async () => {
    const env = fresh();
    const error = await expectRefused(env, (q) => q.enqueue("t", null, { timeout: 5 } as JobOptions), /^options/);
    // the refusal must say which option is unknown
    const issue = error.issues.find((i) => i.field.startsWith("options"))!;
    expect(`${issue.field} ${issue.message}`).toContain("timeout");
    await expectRefused(
      env,
      (q) => q.enqueue("t", null, { retry: { max: 1, tries: 3 } } as JobOptions),
      /^options\.retry/,
    );
  });

  it("refuses runAt together with delayMs", async () => {
    const env = fresh();
    await expectRefused(
      env,
      (q) => q.enqueue("t", null, { runAt: Date.now() + 1000, delayMs: 1000 }),
      /^options\.(delayMs|runAt)$/,
    );
  });

  it("refuses bad numbers and shapes in options", async () => {
    const env = fresh();
    const cases: [JobOptions, string][] = [
      [{ timeoutMs: -1 }, "options.timeoutMs"],
      [{ timeoutMs: 0 }, "options.timeoutMs"],
      [{ timeoutMs: 1.5 }, "options.timeoutMs"],
      [{ retry: { max: 1.5 } }, "options.retry.max"],
      [{ retry: { max: -1 } }, "options.retry.max"],
      [{ retry: { max: 1, backoff: { type: "linear" as "fixed", delayMs: 1 } } }, "options.retry.backoff.type"],
      [{ delayMs: -5 }, "options.delayMs"],
      [{ runAt: "tomorrow" }, "options.runAt"],
      [{ runAt: new Date("not a date") }, "options.runAt"],
      // a job parked for years would hold its memory that long
      [{ runAt: Date.now() + 366 * 86_400_000 }, "options.runAt"],
      [{ runAt: "2999-01-01T00:00:00Z" }, "options.runAt"],
      [{ ttlSec: 0 }, "options.ttlSec"],
      [{ resultTtlSec: 2.5 }, "options.resultTtlSec"],
      [{ dependsOn: ["ok", "not ok"] }, "options.dependsOn.1"],
      [{ callbackUrl: "ftp://example.com/x" }, "options.callbackUrl"],
      [{ atFront: "yes" as unknown as boolean }, "options.atFront"],
      [{ meta: { when: new Date() } as unknown as JobOptions["meta"] }, "options.meta.when"],
    ];
    for (const [options, field] of cases) {
      await expectRefused(env, (q) => q.enqueue("t", null, options), field);
    }
  });

  it("names every bad field at once", async () => {
    const env = fresh();
    const error = await expectRefused(env, (q) => q.enqueue("bad task", () => 1, { timeoutMs: -1 }), "task");
    expect(error.issues.map((i) => i.field).sort()).toEqual(["args", "options.timeoutMs", "task"]);
  });

  it("refuses a dependency that does not exist, naming options.dependsOn", async () => {
    const env = fresh();
    const dep = await env.queue.enqueue("t");
    const error = await expectRefused(
      env,
      (q) => q.enqueue("t", null, { id: "child", dependsOn: [dep.id, "ghost"] }),
      "options.dependsOn",
    );
    expect(error.message).toContain("ghost");
    expect(await env.queue.getJob("child")).toBeNull();
  });
});

describe("cancel", () => {
  it("cancels a queued job: out of the queue list, into the canceled registry", async () => {
    const { queue, keys } = fresh();
    const keep = await queue.enqueue("t");
    const job = await queue.enqueue("t");
    const view = await queue.cancel(job.id);
    expect(view.status).toBe("canceled");
    expect(view.error).toMatchObject({ name: "JobCanceledError" });
    expect(view.endedAt).toBeGreaterThanOrEqual(job.createdAt);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([keep.id]);
    expect(await redis.zscore(keys.registry("canceled", "default"), job.id)).not.toBeNull();
    // canceled jobs expire like failed ones
    const pttl = await redis.pttl(keys.job(job.id));
    expect(pttl).toBeGreaterThan(DEFAULTS.failureTtlSec * 1000 - 60_000);
    expect(pttl).toBeLessThanOrEqual(DEFAULTS.failureTtlSec * 1000);
    // a claim does not take it
    expect(await claimAll(queue)).toEqual([keep.id]);
  });

  it("cancels a scheduled job", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { delayMs: 60_000 });
    expect((await queue.cancel(job.id)).status).toBe("canceled");
    expect(await redis.zcard(keys.registry("scheduled", "default"))).toBe(0);
    expect(await redis.zscore(keys.registry("canceled", "default"), job.id)).not.toBeNull();
    // even once due, it is not promoted
    expect(await claimAll(queue, "w1", Date.now() + 120_000)).toEqual([]);
  });

  it("cancels a deferred job and forgets its dependencies", async () => {
    const { queue, keys } = fresh();
    const parent = await queue.enqueue("t");
    const child = await queue.enqueue("t", null, { dependsOn: [parent.id] });
    expect(child.status).toBe("deferred");
    expect((await queue.cancel(child.id)).status).toBe("canceled");
    expect(await redis.zcard(keys.registry("deferred", "default"))).toBe(0);
    expect(await redis.exists(keys.dependencies(child.id))).toBe(0);
    // the parent finishing does not bring it back
    await claimAll(queue);
    expect(await report(keys, parent.id, { result: 1 })).toEqual({ ok: true, status: "finished" });
    expect((await queue.getJob(child.id))!.status).toBe("canceled");
    expect(await redis.zcard(keys.waiting("default"))).toBe(0);
  });

  it("asks the worker of a started job to stop; its failure then ends it as stopped", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    expect(await claimAll(queue, "w1")).toEqual([job.id]);
    const view = await queue.cancel(job.id);
    expect(view.status).toBe("started");
    expect(await redis.hget(keys.job(job.id), "stopRequested")).toBe("1");
    expect(await redis.zscore(keys.registry("started", "default"), job.id)).not.toBeNull();

    const error = { name: "StoppedError", message: "stopped on request" };
    expect(await report(keys, job.id, { error })).toEqual({ ok: true, status: "stopped" });
    const stopped = (await queue.getJob(job.id))!;
    expect(stopped.status).toBe("stopped");
    expect(stopped.error).toEqual({ name: "StoppedError", message: "stopped on request" });
    expect(await redis.hget(keys.job(job.id), "stopRequested")).toBeNull();
    expect(await redis.zscore(keys.registry("stopped", "default"), job.id)).not.toBeNull();
    expect(await redis.zcard(keys.registry("started", "default"))).toBe(0);
  });

  it("refuses to cancel a finished or failed job, and leaves it be", async () => {
    const { queue, keys, prefix } = fresh();
    const job = await queue.enqueue("t");
    await claimAll(queue);
    await report(keys, job.id, { result: { ok: 1 } });
    const before = await snapshot(prefix);
    const error = await rejection(queue.cancel(job.id));
    expect(error).toBeInstanceOf(JobStateError);
    expect(error).toMatchObject({ status: 409, jobId: job.id, jobStatus: "finished" });
    expect(await snapshot(prefix)).toEqual(before);

    const failed = await queue.enqueue("t");
    await claimAll(queue);
    await report(keys, failed.id, { error: { name: "E", message: "x" }, retryable: false });
    const beforeFailed = await snapshot(prefix);
    expect(await rejection(queue.cancel(failed.id))).toMatchObject({ name: "JobStateError", jobStatus: "failed" });
    expect(await snapshot(prefix)).toEqual(beforeFailed);
  });

  it("leaves an already canceled job as it was when canceled again", async () => {
    const { queue, prefix } = fresh();
    const job = await queue.enqueue("t");
    const canceled = await queue.cancel(job.id);
    const before = await snapshot(prefix);
    // cancel is idempotent (as DELETE is): it answers with the job, and writes nothing
    expect(await queue.cancel(job.id)).toEqual(canceled);
    expect(await snapshot(prefix)).toEqual(before);
  });

  it("throws JobNotFoundError for an unknown id", async () => {
    const { queue, prefix } = fresh();
    const error = await rejection(queue.cancel("ghost"));
    expect(error).toBeInstanceOf(JobNotFoundError);
    expect(error).toMatchObject({ status: 404, jobId: "ghost" });
    expect(await keyCount(prefix)).toBe(0);
  });
});

describe("requeue", () => {
  it("puts a failed job back as new: queued, attempts 0, error cleared, no expiry", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    await claimAll(queue);
    expect(await report(keys, job.id, { error: { name: "Error", message: "boom" } })).toEqual({
      ok: true,
      status: "failed",
    });
    const failed = (await queue.getJob(job.id))!;
    expect(failed).toMatchObject({ status: "failed", attempts: 1, error: { name: "Error", message: "boom" } });

    const view = await queue.requeue(job.id);
    expect(view).toMatchObject({
      status: "queued",
      attempts: 0,
      error: null,
      result: null,
      startedAt: null,
      endedAt: null,
    });
    expect(await redis.pttl(keys.job(job.id))).toBe(-1);
    expect(await redis.zscore(keys.registry("failed", "default"), job.id)).toBeNull();
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([job.id]);
    expect(await redis.llen(keys.wake("default"))).toBe(1);
    const step = await scripts.claim.run(runner, keys, {
      now: Date.now(),
      worker: "w2",
      next: { leaseMs: 30_000, max: 1, queues: ["default"] },
    });
    expect(step.jobs[0]!.attempts).toBe(1);
  });

  it("puts a canceled job back", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    await queue.cancel(job.id);
    expect((await queue.requeue(job.id)).status).toBe("queued");
    expect(await redis.zcard(keys.registry("canceled", "default"))).toBe(0);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([job.id]);
  });

  it("refuses a finished job, and throws JobNotFoundError for an unknown one", async () => {
    const { queue, keys, prefix } = fresh();
    const done = await queue.enqueue("t");
    await claimAll(queue);
    await report(keys, done.id, { result: 42 });
    const before = await snapshot(prefix);
    expect(await rejection(queue.requeue(done.id))).toMatchObject({
      name: "JobStateError",
      status: 409,
      jobStatus: "finished",
    });
    expect(await rejection(queue.requeue("ghost"))).toBeInstanceOf(JobNotFoundError);
    expect(await snapshot(prefix)).toEqual(before);
  });

  it("refuses a queued job: it is not failed, stopped or canceled", async () => {
    const { queue, prefix } = fresh();
    const waiting = await queue.enqueue("t");
    const before = await snapshot(prefix);
    expect(await rejection(queue.requeue(waiting.id))).toMatchObject({
      name: "JobStateError",
      status: 409,
      jobStatus: "queued",
    });
    expect(await snapshot(prefix)).toEqual(before);
  });

  it("refuses a started job", async () => {
    const { queue, prefix } = fresh();
    const job = await queue.enqueue("t");
    await claimAll(queue);
    const before = await snapshot(prefix);
    expect(await rejection(queue.requeue(job.id))).toMatchObject({ name: "JobStateError", jobStatus: "started" });
    expect(await snapshot(prefix)).toEqual(before);
  });
});

describe("counts", () => {
  it("counts jobs per status", async () => {
    const { queue, keys } = fresh();
    expect(await queue.counts()).toEqual({
      queued: 0,
      scheduled: 0,
      deferred: 0,
      started: 0,
      finished: 0,
      failed: 0,
      stopped: 0,
      canceled: 0,
    });
    const [, finished, failed, stopped] = await queue.enqueueMany([
      { task: "t" },
      { task: "t" },
      { task: "t" },
      { task: "t" },
    ]);
    expect(await claimAll(queue)).toHaveLength(4);
    const _now = Date.now();
    await report(keys, finished!.id, { result: null });
    await report(keys, failed!.id, { error: { name: "E", message: "x" }, retryable: false });
    await queue.cancel(stopped!.id);
    await report(keys, stopped!.id, { error: { name: "E", message: "x" } });
    const q1 = await queue.enqueue("t");
    await queue.enqueue("t");
    await queue.enqueue("t", null, { delayMs: 60_000 });
    await queue.enqueue("t", null, { dependsOn: [q1.id] });
    await queue.cancel((await queue.enqueue("t")).id);

    expect(await queue.counts()).toEqual({
      queued: 2,
      scheduled: 1,
      deferred: 1,
      started: 1,
      finished: 1,
      failed: 1,
      stopped: 1,
      canceled: 1,
    });
    // another queue under the same prefix is counted apart
    const high = new Queue("high", { redis, prefix: keys.root.slice(1, -1) });
    await high.enqueue("t");
    expect((await high.counts()).queued).toBe(1);
    expect((await queue.counts()).queued).toBe(2);
  });
});

describe("waitFor", () => {
  it("does not poll: it subscribes to the job's channel, reads the job once, and gets its ending with it", async () => {
    // a server of its own, so that its command counters are this test's alone
    const server = await startRedisServer();
    const client = new Redis(server.url);
    const worker = new Redis(server.url);
    try {
      const queue = new Queue("default", { redis: client, prefix: uniquePrefix("queue-wait") });
      const job = await queue.enqueue("t");
      const before = await commandCalls(worker);
      const waiting = queue.waitFor(job.id, { timeoutMs: 60_000 });
      await until("waitFor to subscribe", 5_000, async () => {
        const [, subscribers] = (await worker.call("PUBSUB", "NUMSUB", queue.keys.events(job.id))) as [string, number];
        return subscribers === 1;
      });
      // the job runs for longer than any polling interval would wait
      await new Promise((resolve) => setTimeout(resolve, 700));
      const workerRunner = scriptRunner(worker);
      await scripts.claim.run(workerRunner, queue.keys, {
        now: Date.now(),
        worker: "w",
        next: { leaseMs: 30_000, max: 1, queues: ["default"] },
      });
      await scripts.complete.run(workerRunner, queue.keys, {
        now: Date.now(),
        worker: "w",
        jobs: [{ id: job.id, result: "1" }],
      });
      expect(await waiting).toMatchObject({ status: "finished", result: 1 });
      const after = await commandCalls(worker);
      // two script calls were the worker's (claim, complete); the read was waitFor's, with its one SUBSCRIBE
      expect((after.evalsha ?? 0) - (before.evalsha ?? 0) - 2).toBe(1);
      expect((after.subscribe ?? 0) - (before.subscribe ?? 0)).toBe(1);
    } finally {
      client.disconnect();
      worker.disconnect();
      await server.destroy();
    }
  });

  // waitFor is given far longer than the test may run: only returning on the terminal status passes
  it("returns the terminal view once another client completes the job", { timeout: 5_000 }, async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", { x: 1 });
    const otherRunner = scriptRunner(other);
    const waiting = queue.waitFor(job.id, { timeoutMs: 60_000 });
    const worker = (async () => {
      // let waitFor see the job unfinished first
      await new Promise((resolve) => setTimeout(resolve, 30));
      await claimAll(queue, "w-other", Date.now(), otherRunner);
      return report(keys, job.id, { result: { sum: 3 } }, { worker: "w-other", r: otherRunner });
    })();
    const [view, completed] = await Promise.all([waiting, worker]);
    expect(completed).toEqual({ ok: true, status: "finished" });
    expect(view).toMatchObject({ id: job.id, status: "finished", result: { sum: 3 }, attempts: 1, error: null });
    expect(view.endedAt).not.toBeNull();
  });

  it("returns a failed job's view with its error", { timeout: 5_000 }, async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    const waiting = queue.waitFor(job.id, { timeoutMs: 60_000 });
    const otherRunner = scriptRunner(other);
    await claimAll(queue, "w-other", Date.now(), otherRunner);
    await report(keys, job.id, { error: { name: "TypeError", message: "bad" } }, { worker: "w-other", r: otherRunner });
    expect(await waiting).toMatchObject({ status: "failed", error: { name: "TypeError", message: "bad" } });
  });

  it("returns the latest non-terminal view after its timeout", async () => {
    const { queue } = fresh();
    const job = await queue.enqueue("t");
    await claimAll(queue, "w1");
    const started = Date.now();
    const view = await queue.waitFor(job.id, { timeoutMs: 80 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    expect(view).toMatchObject({ id: job.id, status: "started", attempts: 1 });
  });

  it("throws JobNotFoundError for an unknown id", async () => {
    const { queue } = fresh();
    expect(await rejection(queue.waitFor("ghost", { timeoutMs: 1_000 }))).toBeInstanceOf(JobNotFoundError);
  });
});

/** Calls per command on a server, leaving out the test's own INFO, PUBSUB and CLIENT calls. */
async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const info = await client.info("commandstats");
  const calls: Record<string, number> = {};
  for (const [, command, n] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[command!] = Number(n);
  return calls;
}
