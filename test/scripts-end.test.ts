// How a job's attempts end in the Lua scripts against a real redis-server,
// driven with explicit `now` values: fail.lua's retries and backoffs, and the
// TTLs complete.lua and fail.lua give a finished or failed job, and a
// queue's keep: only its latest N ended jobs of a status.
import { describe, expect, it } from "vitest";
import { connectForFile, redis } from "./support/connection.ts";
import { claimIds, claimJobs, completeJob, failJob, score, scriptQueues, stored } from "./support/scripts.ts";

connectForFile();
const fresh = scriptQueues("scripts-end");
const YEAR_MS = 365 * 24 * 3600 * 1000;

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
    // the worker that ran it stays: the ended job is its final attempt
    expect(await redis.hget(keys.job(byDefault.id), "workerName")).toBe("w1");
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

describe("keeping the latest N", () => {
  it("keeps a queue's latest N finished and failed jobs, deleting the oldest as others end", async () => {
    const { queue, keys } = fresh();
    await queue.configure({ keep: { finished: 2, failed: 1 } });
    expect((await queue.info()).keep).toEqual({ finished: 2, failed: 1 });
    const jobs = await queue.enqueueMany([1, 2, 3, 4, 5, 6].map((n) => ({ task: "t", args: n })));
    const now = Date.now();
    await claimJobs(keys, now, { max: 6 });
    for (const [i, job] of jobs.slice(0, 4).entries()) await completeJob(keys, now + i, job.id);
    for (const [i, job] of jobs.slice(4).entries()) await failJob(keys, now + 10 + i, job.id, { retryable: false });
    expect(await redis.zrange(keys.registry("finished", "default"), "0", "-1")).toEqual([jobs[2]!.id, jobs[3]!.id]);
    expect(await redis.zrange(keys.registry("failed", "default"), "0", "-1")).toEqual([jobs[5]!.id]);
    for (const gone of [jobs[0]!, jobs[1]!, jobs[4]!]) expect(await redis.exists(keys.job(gone.id))).toBe(0);
    expect(await queue.counts()).toMatchObject({ finished: 2, failed: 1 });
    const refused = await queue.configure({ keep: { finished: 0 } }).catch((e: unknown) => e);
    expect((refused as { status: number }).status).toBe(422);
  });
});
