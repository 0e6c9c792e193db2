// The Lua state machine (shared/scripts/*.ts) against a real redis-server:
// claim, complete, fail, recover and renew, driven with explicit `now`
// values instead of sleeps, checked in Redis and in the job view.
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue, type QueueOptions } from "../shared/index.ts";
import type { Job } from "../shared/job.ts";
import type { Keys } from "../shared/keys.ts";
import { scriptRunner } from "../shared/redis.ts";
import { execPipeline, type ScriptRunner } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import { freshQueues } from "./support/prefixes.ts";

const url = inject("redisUrl");
const LEASE = 30_000;
const YEAR_MS = 365 * 24 * 3600 * 1000;

let redis: Redis;
let runner: ScriptRunner;

beforeAll(() => {
  redis = new Redis(url);
  runner = scriptRunner(redis);
});

afterAll(async () => {
  await redis.quit();
});

/** Queues under a key prefix of their own, so every test starts from an empty keyspace. */
const freshQueue = freshQueues("scripts", () => redis);

/** A queue of the test's own, and other queues on its prefix by name. */
function fresh(options: Partial<QueueOptions> = {}) {
  const own = freshQueue("default", options);
  const named = (name: string) => new Queue(name, { redis, prefix: own.prefix, ...options });
  return { ...own, named };
}

async function claimJobs(
  keys: Keys,
  now: number,
  {
    queues = ["default"],
    max = 100,
    worker = "w1",
    lease = LEASE,
  }: { queues?: string[]; max?: number; worker?: string; lease?: number } = {},
): Promise<{ jobs: Job[]; nextDueAt: number | null }> {
  const { jobs, nextDueAt } = await scripts.claim.run(runner, keys, {
    now: now,
    worker: worker,
    next: { leaseMs: lease, max: max, queues: queues },
  });
  return { jobs, nextDueAt };
}

async function claimIds(keys: Keys, now: number, options: Parameters<typeof claimJobs>[2] = {}): Promise<string[]> {
  return (await claimJobs(keys, now, options)).jobs.map((j) => j.id);
}

async function completeJob(keys: Keys, now: number, id: string, worker = "w1", result: unknown = null) {
  const step = await scripts.complete.run(runner, keys, {
    now,
    worker,
    jobs: [{ id, result: JSON.stringify(result) }],
  });
  return step.reported[0]!;
}

async function failJob(
  keys: Keys,
  now: number,
  id: string,
  { worker = "w1", message = "boom", retryable = true } = {},
) {
  const step = await scripts.fail.run(runner, keys, {
    now,
    worker,
    jobs: [{ id, error: { name: "Error", message }, retryable }],
  });
  return step.reported[0]!;
}

/** The whole stored job, as a worker reads it. */
async function stored(keys: Keys, id: string): Promise<Job | null> {
  return scripts.getJob.run(runner, keys, { id });
}

async function score(key: string, member: string): Promise<number | null> {
  const value = await redis.zscore(key, member);
  return value === null ? null : Number(value);
}

describe("claim", () => {
  it("moves queued jobs to started in FIFO order, with attempts, worker and a lease", async () => {
    const { queue, keys } = fresh();
    const [a, b, c] = await queue.enqueueMany([{ task: "t" }, { task: "t" }, { task: "t" }]);
    const now = Date.now();
    const { jobs } = await claimJobs(keys, now, { max: 2, worker: "w1", lease: 5_000 });
    expect(jobs.map((j) => j.id)).toEqual([a!.id, b!.id]);
    for (const job of jobs) {
      expect(job).toMatchObject({ status: "started", attempts: 1, startedAt: now, workerName: "w1", endedAt: null });
      expect(await score(keys.registry("started", "default"), job.id)).toBe(now + 5_000);
    }
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([c!.id]);
    expect(await queue.getJob(a!.id)).toMatchObject({ status: "started", attempts: 1, startedAt: now });
    expect(await queue.counts()).toMatchObject({ queued: 1, started: 2 });
  });

  it("takes from the queues in the order given and honours max", async () => {
    const { queue, named, keys } = fresh();
    const high = named("high");
    const d1 = await queue.enqueue("t");
    const d2 = await queue.enqueue("t");
    const h1 = await high.enqueue("t");
    const h2 = await high.enqueue("t");
    const now = Date.now();
    const queues = ["high", "default"];
    expect(await claimIds(keys, now, { queues, max: 1 })).toEqual([h1.id]);
    expect(await claimIds(keys, now, { queues, max: 2 })).toEqual([h2.id, d1.id]);
    expect(await claimIds(keys, now, { queues, max: 5 })).toEqual([d2.id]);
    expect(await claimIds(keys, now, { queues, max: 5 })).toEqual([]);
    expect(await score(keys.registry("started", "high"), h1.id)).toBe(now + LEASE);
    expect(await score(keys.registry("started", "default"), d1.id)).toBe(now + LEASE);
  });

  it("only takes from the queues it is given", async () => {
    const { named, keys } = fresh();
    await named("low").enqueue("t");
    expect(await claimIds(keys, Date.now(), { queues: ["high", "default"] })).toEqual([]);
    expect(await redis.zcard(keys.waiting("low"))).toBe(1);
  });

  it("promotes scheduled jobs once they are due, and reports the next due time", async () => {
    const { queue, keys } = fresh();
    const s1 = await queue.enqueue("t", null, { delayMs: 10_000 });
    const s2 = await queue.enqueue("t", null, { delayMs: 20_000 });
    const due1 = s1.createdAt + 10_000;
    const due2 = s2.createdAt + 20_000;

    const early = await claimJobs(keys, due1 - 1);
    expect(early.jobs).toEqual([]);
    expect(early.nextDueAt).toBe(due1);
    expect((await queue.getJob(s1.id))!.status).toBe("scheduled");

    const onTime = await claimJobs(keys, due1);
    expect(onTime.jobs.map((j) => j.id)).toEqual([s1.id]);
    expect(onTime.jobs[0]).toMatchObject({ status: "started", enqueuedAt: due1, startedAt: due1, attempts: 1 });
    expect(onTime.nextDueAt).toBe(due2);
    expect(await score(keys.registry("scheduled", "default"), s1.id)).toBeNull();
    expect((await queue.getJob(s2.id))!.status).toBe("scheduled");

    const later = await claimJobs(keys, due2 + 1);
    expect(later.jobs.map((j) => j.id)).toEqual([s2.id]);
    expect(later.nextDueAt).toBeNull();
    expect(await redis.zcard(keys.registry("scheduled", "default"))).toBe(0);
  });

  it("promotes due jobs without taking more than max, leaving the rest queued", async () => {
    const { queue, keys } = fresh();
    const views = await queue.enqueueMany([
      { task: "t", options: { delayMs: 1_000 } },
      { task: "t", options: { delayMs: 2_000 } },
      { task: "t", options: { delayMs: 3_000 } },
    ]);
    const now = views[0]!.createdAt + 5_000;
    expect(await claimIds(keys, now, { max: 1 })).toEqual([views[0]!.id]);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([views[1]!.id, views[2]!.id]);
    expect((await queue.getJob(views[1]!.id))!.status).toBe("queued");
  });

  it("fails a job that waited longer than its ttlSec with JobExpiredError", async () => {
    const { queue, keys } = fresh();
    const stale = await queue.enqueue("t", null, { ttlSec: 5 });
    const patient = await queue.enqueue("t", null, { ttlSec: 60 });
    const plain = await queue.enqueue("t");
    const now = stale.enqueuedAt! + 5_001;
    expect(await claimIds(keys, now)).toEqual([patient.id, plain.id]);

    const view = (await queue.getJob(stale.id))!;
    expect(view).toMatchObject({ status: "failed", endedAt: now, attempts: 0, startedAt: null });
    expect(view.error).toMatchObject({ name: "JobExpiredError" });
    expect(view.error!.message).toContain("5");
    expect(await score(keys.registry("failed", "default"), stale.id)).not.toBeNull();
    expect(await score(keys.registry("started", "default"), stale.id)).toBeNull();
  });

  it("does not expire a job claimed within its ttlSec", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { ttlSec: 5 });
    expect(await claimIds(keys, job.enqueuedAt! + 5_000)).toEqual([job.id]);
  });

  it("drops a stale id from the queue list and takes the next job", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    await redis.zadd(keys.waiting("default"), 0, "no-such-job");
    expect(await claimIds(keys, Date.now())).toEqual([job.id]);
    expect(await redis.zcard(keys.waiting("default"))).toBe(0);
  });

  it("keeps at most one wake marker, and leaves it armed while jobs remain", async () => {
    const { queue, keys } = fresh();
    const wake = keys.wake("default");
    expect(await redis.llen(wake)).toBe(0);
    for (let i = 0; i < 10; i++) await queue.enqueue("t", i);
    await queue.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task: "t", args: i })));
    await queue.enqueue("t", null, { delayMs: 60_000 });
    expect(await redis.lrange(wake, 0, -1)).toEqual(["1"]);

    // a worker's blocking pop takes the marker, then it claims some jobs
    expect(await redis.lpop(wake)).toBe("1");
    expect(await claimIds(keys, Date.now(), { max: 3 })).toHaveLength(3);
    expect(await redis.llen(wake)).toBe(1);

    // it takes the marker again and claims the rest: nothing left, no marker
    expect(await redis.lpop(wake)).toBe("1");
    expect(await claimIds(keys, Date.now(), { max: 100 })).toHaveLength(17);
    expect(await redis.llen(wake)).toBe(0);
  });
});

describe("dependencies", () => {
  it("defers a job until all its dependencies finish, then queues it", async () => {
    const { queue, keys } = fresh();
    const a = await queue.enqueue("t");
    const b = await queue.enqueue("t");
    const c = await queue.enqueue("t", null, { dependsOn: [a.id, b.id] });
    expect(c).toMatchObject({ status: "deferred", enqueuedAt: null });
    expect(await score(keys.registry("deferred", "default"), c.id)).not.toBeNull();
    expect((await redis.smembers(keys.dependencies(c.id))).sort()).toEqual([a.id, b.id].sort());
    expect(await redis.smembers(keys.dependents(a.id))).toEqual([c.id]);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([a.id, b.id]);

    const now = Date.now();
    expect(await claimIds(keys, now)).toEqual([a.id, b.id]);
    expect(await completeJob(keys, now + 1, a.id)).toEqual({ ok: true, status: "finished" });
    expect((await queue.getJob(c.id))!.status).toBe("deferred");
    expect(await redis.smembers(keys.dependencies(c.id))).toEqual([b.id]);
    expect(await redis.exists(keys.dependents(a.id))).toBe(0);

    expect(await completeJob(keys, now + 2, b.id)).toEqual({ ok: true, status: "finished" });
    expect(await queue.getJob(c.id)).toMatchObject({ status: "queued", enqueuedAt: now + 2 });
    expect(await redis.zcard(keys.registry("deferred", "default"))).toBe(0);
    expect(await redis.exists(keys.dependencies(c.id), keys.dependents(b.id))).toBe(0);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([c.id]);
    expect(await claimIds(keys, now + 3)).toEqual([c.id]);
  });

  it("queues at once a job whose dependencies have already finished", async () => {
    const { queue, keys } = fresh();
    const a = await queue.enqueue("t");
    await claimIds(keys, Date.now());
    await completeJob(keys, Date.now(), a.id);
    const b = await queue.enqueue("t", null, { dependsOn: [a.id] });
    expect(b.status).toBe("queued");
    expect(await redis.exists(keys.dependencies(b.id))).toBe(0);
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([b.id]);
  });

  it("cancels the dependents of a failed job transitively with DependencyFailedError", async () => {
    const { queue, keys } = fresh();
    const a = await queue.enqueue("t");
    const x = await queue.enqueue("t");
    const b = await queue.enqueue("t", null, { dependsOn: [a.id] });
    const c = await queue.enqueue("t", null, { dependsOn: [b.id] });
    const d = await queue.enqueue("t", null, { dependsOn: [x.id, a.id] });
    const unrelated = await queue.enqueue("t", null, { dependsOn: [x.id] });
    const now = Date.now();
    expect(await claimIds(keys, now, { max: 1 })).toEqual([a.id]);
    expect(await failJob(keys, now + 1, a.id, { retryable: false })).toEqual({ ok: true, status: "failed" });

    for (const [job, parent] of [
      [b, a],
      [c, b],
      [d, a],
    ] as const) {
      const view = (await queue.getJob(job.id))!;
      expect(view.status, job.id).toBe("canceled");
      expect(view.error).toMatchObject({ name: "DependencyFailedError" });
      expect(view.error!.message).toContain(parent.id);
      expect(view.endedAt).toBe(now + 1);
      expect(await score(keys.registry("canceled", "default"), job.id)).not.toBeNull();
      expect(await redis.exists(keys.dependencies(job.id))).toBe(0);
    }
    expect(await redis.zrange(keys.registry("deferred", "default"), "0", "-1")).toEqual([unrelated.id]);
    expect((await queue.getJob(x.id))!.status).toBe("queued");
    expect(await queue.counts()).toMatchObject({ queued: 1, deferred: 1, failed: 1, canceled: 3 });

    // x finishing still releases the job that only waited for x
    expect(await claimIds(keys, now + 2)).toEqual([x.id]);
    await completeJob(keys, now + 3, x.id);
    expect((await queue.getJob(unrelated.id))!.status).toBe("queued");
    expect((await queue.getJob(d.id))!.status).toBe("canceled");
  });

  it("keeps dependents deferred while a failed dependency will be retried", async () => {
    const { queue, keys } = fresh();
    const a = await queue.enqueue("t", null, { retry: { max: 1 } });
    const b = await queue.enqueue("t", null, { dependsOn: [a.id] });
    await claimIds(keys, Date.now());
    expect(await failJob(keys, Date.now(), a.id)).toEqual({ ok: true, status: "queued" });
    expect((await queue.getJob(b.id))!.status).toBe("deferred");
    await claimIds(keys, Date.now());
    await completeJob(keys, Date.now(), a.id);
    expect((await queue.getJob(b.id))!.status).toBe("queued");
  });

  it("cancels at once a job enqueued after its dependency failed", async () => {
    const { queue, keys } = fresh();
    const a = await queue.enqueue("t");
    await claimIds(keys, Date.now());
    await failJob(keys, Date.now(), a.id, { retryable: false });
    const b = await queue.enqueue("t", null, { dependsOn: [a.id] });
    expect(b.status).toBe("canceled");
    expect(b.error).toMatchObject({ name: "DependencyFailedError" });
    expect(await redis.zcard(keys.waiting("default"))).toBe(0);
    expect(await redis.zcard(keys.registry("deferred", "default"))).toBe(0);
    expect(await redis.exists(keys.dependencies(b.id))).toBe(0);
  });

  it("keeps a released job's delay: it is scheduled, not queued, when its dependency finishes early", async () => {
    const { queue, keys } = fresh();
    const a = await queue.enqueue("t");
    const b = await queue.enqueue("t", null, { dependsOn: [a.id], delayMs: 60_000 });
    expect(b.status).toBe("deferred");
    const now = Date.now();
    await claimIds(keys, now);
    await completeJob(keys, now, a.id);
    expect((await queue.getJob(b.id))!.status).toBe("scheduled");
    expect(await score(keys.registry("scheduled", "default"), b.id)).toBe(b.createdAt + 60_000);
    expect(await redis.zcard(keys.waiting("default"))).toBe(0);
  });
});

describe("retries", () => {
  it("requeues with a fixed 0 ms backoff until retry.max is spent, then fails with the last error", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { retry: { max: 2, backoff: { type: "fixed", delayMs: 0 } } });
    const now = Date.now();
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [claimed] = (await claimJobs(keys, now + attempt)).jobs;
      expect(claimed).toMatchObject({ id: job.id, attempts: attempt });
      expect(await failJob(keys, now + attempt, job.id, { message: `boom ${attempt}` })).toEqual({
        ok: true,
        status: "queued",
      });
      const view = (await queue.getJob(job.id))!;
      expect(view).toMatchObject({ status: "queued", attempts: attempt, error: { message: `boom ${attempt}` } });
      expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([job.id]);
      expect(await redis.hget(keys.job(job.id), "workerName")).toBeNull();
      expect(await redis.pttl(keys.job(job.id))).toBe(-1);
    }
    const [last] = (await claimJobs(keys, now + 3)).jobs;
    expect(last!.attempts).toBe(3);
    expect(await failJob(keys, now + 3, job.id, { message: "boom 3" })).toEqual({ ok: true, status: "failed" });
    expect(await queue.getJob(job.id)).toMatchObject({
      status: "failed",
      attempts: 3,
      endedAt: now + 3,
      error: { name: "Error", message: "boom 3" },
    });
    expect(await redis.zcard(keys.waiting("default"))).toBe(0);
    expect(await score(keys.registry("failed", "default"), job.id)).not.toBeNull();
    expect(await redis.zcard(keys.registry("started", "default"))).toBe(0);
  });

  it("schedules an exponential backoff at now + delayMs * 2^(attempts-1)", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { retry: { max: 3, backoff: { type: "exponential", delayMs: 1_000 } } });
    const scheduled = keys.registry("scheduled", "default");
    let now = Date.now();
    for (const [attempt, delay] of [
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
    ] as const) {
      const claimed = await claimJobs(keys, now);
      expect(claimed.jobs.map((j) => [j.id, j.attempts])).toEqual([[job.id, attempt]]);
      expect(await failJob(keys, now, job.id)).toEqual({ ok: true, status: "scheduled" });
      expect(await score(scheduled, job.id)).toBe(now + delay);
      const hash = await stored(keys, job.id);
      expect(hash).toMatchObject({
        status: "scheduled",
        runAt: now + delay,
        attempts: attempt,
        error: { message: "boom" },
      });
      // not before it is due
      expect(await claimJobs(keys, now + delay - 1)).toEqual({ jobs: [], nextDueAt: now + delay });
      now += delay;
    }
    expect((await claimJobs(keys, now)).jobs[0]!.attempts).toBe(4);
    expect(await failJob(keys, now, job.id)).toEqual({ ok: true, status: "failed" });
    expect(await redis.zcard(scheduled)).toBe(0);
  });

  it("caps an exponential backoff at a day, however many attempts", async () => {
    const { queue, keys } = fresh();
    const hour = 3_600_000;
    const job = await queue.enqueue("t", null, { retry: { max: 10, backoff: { type: "exponential", delayMs: hour } } });
    const scheduled = keys.registry("scheduled", "default");
    let now = Date.now();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 7; attempt++) {
      await claimJobs(keys, now);
      expect(await failJob(keys, now, job.id)).toEqual({ ok: true, status: "scheduled" });
      const delay = (await score(scheduled, job.id))! - now;
      delays.push(delay / hour);
      now += delay;
    }
    expect(delays).toEqual([1, 2, 4, 8, 16, 24, 24]);
  });

  it("fails a non-retryable error at once despite the retry policy", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { retry: { max: 5 } });
    await claimIds(keys, Date.now());
    expect(await failJob(keys, Date.now(), job.id, { retryable: false, message: "unknown task t" })).toEqual({
      ok: true,
      status: "failed",
    });
    expect(await queue.getJob(job.id)).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { message: "unknown task t" },
    });
    expect(await redis.zcard(keys.waiting("default"))).toBe(0);
  });

  it("fails at the first error a job without a retry policy", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    await claimIds(keys, Date.now());
    expect(await failJob(keys, Date.now(), job.id)).toEqual({ ok: true, status: "failed" });
  });
});

describe("leases", () => {
  it("recover retries or fails jobs whose lease ran out, with AbandonedJobError", async () => {
    const { queue, keys } = fresh();
    const plain = await queue.enqueue("t");
    const retried = await queue.enqueue("t", null, { retry: { max: 1 } });
    const healthy = await queue.enqueue("t");
    const now = Date.now();
    await claimIds(keys, now, { max: 2, lease: 1_000 });
    await claimIds(keys, now, { max: 1, lease: 60_000, worker: "w2" });

    expect(await scripts.recover.run(runner, keys, { now: now + 1_001, lockMs: 60_000 })).toEqual({
      ran: true,
      recovered: 2,
      promoted: 0,
      more: false,
    });
    const failed = (await queue.getJob(plain.id))!;
    expect(failed).toMatchObject({ status: "failed", endedAt: now + 1_001, error: { name: "AbandonedJobError" } });
    expect(await redis.pttl(keys.job(plain.id))).toBeGreaterThan(0);
    const requeued = (await stored(keys, retried.id))!;
    expect(requeued).toMatchObject({
      status: "queued",
      attempts: 1,
      workerName: null,
      error: { name: "AbandonedJobError" },
    });
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([retried.id]);
    expect((await queue.getJob(healthy.id))!.status).toBe("started");
    expect(await redis.zrange(keys.registry("started", "default"), "0", "-1")).toEqual([healthy.id]);

    // the retried job is taken again and counts its second attempt
    expect((await claimJobs(keys, now + 1_002)).jobs.map((j) => [j.id, j.attempts])).toEqual([[retried.id, 2]]);
  });

  it("recover promotes due scheduled jobs and re-arms the wake marker", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { delayMs: 1_000 });
    await redis.del(keys.wake("default"));
    expect(await scripts.recover.run(runner, keys, { now: job.createdAt + 1_000, lockMs: 60_000 })).toEqual({
      ran: true,
      recovered: 0,
      promoted: 1,
      more: false,
    });
    expect((await queue.getJob(job.id))!.status).toBe("queued");
    expect(await redis.zrange(keys.waiting("default"), "0", "-1")).toEqual([job.id]);
    expect(await redis.llen(keys.wake("default"))).toBe(1);
  });

  it("recover runs once per lock period: a second call within lockMs does nothing", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    const now = Date.now();
    await claimIds(keys, now, { lease: 1_000 });
    expect(await scripts.recover.run(runner, keys, { now: now + 500, lockMs: 60_000 })).toEqual({
      ran: true,
      recovered: 0,
      promoted: 0,
      more: false,
    });
    const lockTtl = await redis.pttl(keys.maintenanceLock());
    expect(lockTtl).toBeGreaterThan(50_000);
    expect(lockTtl).toBeLessThanOrEqual(60_000);

    expect(await scripts.recover.run(runner, keys, { now: now + 5_000, lockMs: 60_000 })).toEqual({
      ran: false,
      recovered: 0,
      promoted: 0,
      more: false,
    });
    expect((await queue.getJob(job.id))!.status).toBe("started");

    // once the lock is gone (it expired), the next pass recovers the job
    await redis.del(keys.maintenanceLock());
    expect(await scripts.recover.run(runner, keys, { now: now + 5_000, lockMs: 60_000 })).toMatchObject({
      ran: true,
      recovered: 1,
    });
    expect((await queue.getJob(job.id))!.status).toBe("failed");
  });

  it("renew extends the leases of the jobs a worker holds, and reports lost and stop-requested ones", async () => {
    const { queue, keys } = fresh();
    const [a, b, c] = await queue.enqueueMany([{ task: "t" }, { task: "t" }, { task: "t" }]);
    const now = Date.now();
    await claimIds(keys, now, { max: 2, worker: "w1", lease: 10_000 });
    await claimIds(keys, now, { max: 1, worker: "w2", lease: 10_000 });
    const started = keys.registry("started", "default");
    expect(await score(started, a!.id)).toBe(now + 10_000);

    const state = { name: "w1", queues: "default", state: "busy", pid: "123" };
    const renewal = { leaseMs: 10_000, worker: "w1", state, entryTtlMs: 30_000 };
    const reply = await scripts.renew.run(runner, keys, {
      ...renewal,
      now: now + 5_000,
      running: [a!.id, b!.id, c!.id, "ghost"],
    });
    expect(reply).toEqual({ lost: [c!.id, "ghost"], stop: [], outboxDueAt: null });
    expect(await score(started, a!.id)).toBe(now + 15_000);
    expect(await score(started, b!.id)).toBe(now + 15_000);
    expect(await score(started, c!.id)).toBe(now + 10_000);
    expect(await redis.hgetall(keys.worker("w1"))).toMatchObject({
      heartbeat: String(now + 5_000),
      state: "busy",
      queues: "default",
    });
    expect(await score(keys.workers(), "w1")).toBe(now + 35_000);
    expect(await redis.pttl(keys.worker("w1"))).toBeGreaterThan(25_000);

    await queue.cancel(b!.id);
    const again = await scripts.renew.run(runner, keys, { ...renewal, now: now + 6_000, running: [a!.id, b!.id] });
    expect(again.stop).toEqual([b!.id]);
    expect(again.lost).toEqual([]);
    // a stop request does not end the lease: the worker still holds the job until it stops it
    expect(await score(started, b!.id)).toBe(now + 16_000);
  });

  it("refuses complete and fail from a worker that no longer holds the job, leaving it unchanged", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { retry: { max: 3 } });
    const now = Date.now();
    await claimIds(keys, now, { worker: "w1", lease: 1_000 });
    await scripts.recover.run(runner, keys, { now: now + 2_000, lockMs: 60_000 });
    expect(await claimIds(keys, now + 2_001, { worker: "w2" })).toEqual([job.id]);

    const hash = await redis.hgetall(keys.job(job.id));
    const lease = await score(keys.registry("started", "default"), job.id);
    expect(await completeJob(keys, now + 2_002, job.id, "w1", "late")).toEqual({ ok: false, status: "started" });
    expect(await failJob(keys, now + 2_002, job.id, { worker: "w1" })).toEqual({ ok: false, status: "started" });
    expect(await redis.hgetall(keys.job(job.id))).toEqual(hash);
    expect(await score(keys.registry("started", "default"), job.id)).toBe(lease);
    expect(await redis.zcard(keys.registry("finished", "default"))).toBe(0);

    // the holder's word still counts
    expect(await completeJob(keys, now + 2_003, job.id, "w2", { ok: true })).toEqual({ ok: true, status: "finished" });
    expect(await queue.getJob(job.id)).toMatchObject({
      status: "finished",
      result: { ok: true },
      attempts: 2,
      error: null,
    });

    // and a finished or missing job cannot be completed again
    expect(await completeJob(keys, now + 2_004, job.id, "w2")).toEqual({ ok: false, status: "finished" });
    expect(await completeJob(keys, now + 2_004, "ghost", "w2")).toEqual({ ok: false, status: "missing" });
    expect(await redis.exists(keys.job("ghost"))).toBe(0);
  });
});

describe("TTLs", () => {
  it("a finished job expires after resultTtlSec", async () => {
    const { queue, keys } = fresh();
    const byDefault = await queue.enqueue("t");
    const short = await queue.enqueue("t", null, { resultTtlSec: 60 });
    const now = Date.now();
    await claimIds(keys, now);
    await completeJob(keys, now, byDefault.id, "w1", { n: 1 });
    await completeJob(keys, now, short.id, "w1", [1, 2]);

    const pttl = await redis.pttl(keys.job(byDefault.id));
    expect(pttl).toBeGreaterThan(490_000);
    expect(pttl).toBeLessThanOrEqual(500_000);
    const shortTtl = await redis.pttl(keys.job(short.id));
    expect(shortTtl).toBeGreaterThan(50_000);
    expect(shortTtl).toBeLessThanOrEqual(60_000);
    expect(await score(keys.registry("finished", "default"), byDefault.id)).toBe(now + 500_000);
    expect(await score(keys.registry("finished", "default"), short.id)).toBe(now + 60_000);
    expect(await queue.getJob(byDefault.id)).toMatchObject({ status: "finished", result: { n: 1 }, endedAt: now });
    expect(await queue.getJob(short.id)).toMatchObject({ result: [1, 2] });
    expect(await redis.hget(keys.job(byDefault.id), "workerName")).toBeNull();
  });

  it("a failed job expires after failureTtlSec", async () => {
    const { queue, keys } = fresh();
    const byDefault = await queue.enqueue("t");
    const short = await queue.enqueue("t", null, { failureTtlSec: 3_600 });
    const now = Date.now();
    await claimIds(keys, now);
    await failJob(keys, now, byDefault.id);
    await failJob(keys, now, short.id);

    const pttl = await redis.pttl(keys.job(byDefault.id));
    expect(pttl).toBeGreaterThan(YEAR_MS - 60_000);
    expect(pttl).toBeLessThanOrEqual(YEAR_MS);
    const shortTtl = await redis.pttl(keys.job(short.id));
    expect(shortTtl).toBeGreaterThan(3_590_000);
    expect(shortTtl).toBeLessThanOrEqual(3_600_000);
    expect(await score(keys.registry("failed", "default"), short.id)).toBe(now + 3_600_000);
  });

  it("counts no longer show terminal jobs whose TTL ran out in the registry", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    const longAgo = Date.now() - 600_000;
    await claimIds(keys, longAgo);
    await completeJob(keys, longAgo, job.id);
    // its registry entry ran out 100 s ago (500 s result TTL)
    expect(await queue.counts()).toMatchObject({ finished: 0, started: 0 });
  });
});

describe("EVALSHA with EVAL fallback", () => {
  it("loads a script again after SCRIPT FLUSH (NOSCRIPT → EVAL)", async () => {
    const { queue, keys } = fresh();
    await queue.enqueue("t");
    const sha = scripts.enqueue.script.sha;
    expect(await redis.script("EXISTS", sha)).toEqual([1]);

    await redis.script("FLUSH");
    expect(await redis.script("EXISTS", sha)).toEqual([0]);
    const job = await queue.enqueue("t", { after: "flush" });
    expect(job.status).toBe("queued");
    expect(await redis.script("EXISTS", sha)).toEqual([1]);
    expect(await queue.getJob(job.id)).toEqual(job);

    await redis.script("FLUSH");
    expect(await claimIds(keys, Date.now(), { max: 10 })).toHaveLength(2);
    expect(await redis.script("EXISTS", scripts.claim.script.sha)).toEqual([1]);
  });

  it("passes other script errors through, naming the line of the .lua file", async () => {
    const { keys } = fresh();
    // a lock time that is not a number makes the script raise; that must not be retried as NOSCRIPT
    const error = await scripts.recover
      .run(runner, keys, { now: Date.now(), lockMs: "not-a-number" as unknown as number })
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/ERR value is not an integer/);
    // Redis counts lines of the assembled script; the message names the source file's own line
    const source = readFileSync(new URL("../shared/scripts/recover.lua", import.meta.url), "utf8").split("\n");
    const line = source.findIndex((l) => l.includes("K.maintenanceLock()")) + 1;
    expect((error as Error).message).toContain(`shared/scripts/recover.lua:${line}`);
    expect((error as Error).message).not.toMatch(/user_script/);
  });

  it("in a pipeline: commands ahead answer as they came, an uncached script goes again, an error ends", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    await redis.script("FLUSH");
    // cached: its error comes from the pipeline itself, not from the fallback
    await redis.script("LOAD", scripts.recover.script.compiled.source);
    const get = scripts.getJob.call(keys, { id: job.id });
    const broken = scripts.recover.call(keys, { now: Date.now(), lockMs: "not-a-number" as unknown as number });
    const replies = await execPipeline(redis.pipeline().ping(), runner, [get, broken, get]);
    expect(replies).toHaveLength(3);
    expect(replies[0]).toEqual([null, "PONG"]);
    expect(replies[1]).toEqual(await scripts.getJob.run(runner, keys, { id: job.id }));
    expect(replies[2]).toBeInstanceOf(Error);
    expect((replies[2] as Error).message).toContain("shared/scripts/recover.lua:");
    expect(await redis.script("EXISTS", scripts.getJob.script.sha)).toEqual([1]);
  });
});

describe("finishing a job and claiming the next in one call", () => {
  it("complete and fail take the worker's next jobs, in priority order, when given the claim arguments", async () => {
    const { named, keys } = fresh();
    const [a] = await named("default").enqueueMany([{ task: "t" }]);
    const [b, c] = await named("default").enqueueMany([{ task: "t" }, { task: "t" }]);
    const [urgent] = await named("high").enqueueMany([{ task: "t" }]);
    const now = Date.now();
    expect(await claimIds(keys, now, { max: 1 })).toEqual([a!.id]);

    const next = (max: number, queues: string[]) => ({ leaseMs: LEASE, max, queues });
    const done = await scripts.complete.run(runner, keys, {
      now: now + 1,
      worker: "w1",
      jobs: [{ id: a!.id, result: "null" }],
      next: next(2, ["high", "default"]),
    });
    expect(done.reported).toEqual([{ ok: true, status: "finished" }]);
    expect(done.jobs.map((j) => j.id)).toEqual([urgent!.id, b!.id]);
    expect(done.jobs.map((j) => [j.status, j.workerName, j.attempts])).toEqual([
      ["started", "w1", 1],
      ["started", "w1", 1],
    ]);
    expect(await score(keys.registry("started", "high"), urgent!.id)).toBe(now + 1 + LEASE);

    const failed = await scripts.fail.run(runner, keys, {
      now: now + 2,
      worker: "w1",
      jobs: [{ id: b!.id, error: { name: "Error", message: "boom" }, retryable: false }],
      next: next(1, ["default"]),
    });
    expect(failed.reported).toEqual([{ ok: true, status: "failed" }]);
    expect(failed.jobs.map((j) => j.id)).toEqual([c!.id]);

    // a worker that lost the job still gets its next ones (none left here)
    const lost = await scripts.complete.run(runner, keys, {
      now: now + 3,
      worker: "w1",
      jobs: [{ id: b!.id, result: "null" }],
      next: next(1, ["default"]),
    });
    expect(lost.reported).toEqual([{ ok: false, status: "failed" }]);
    expect(lost.jobs).toEqual([]);
  });
});
