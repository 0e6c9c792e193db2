// Leases in the Lua scripts against a real redis-server, driven with explicit
// `now` values: recover.lua retrying or failing jobs whose lease ran out and
// promoting due ones, renew.lua extending a worker's leases, and complete and
// fail refused to a worker that no longer holds the job.
import { describe, expect, it } from "vitest";
import * as scripts from "../shared/scripts/index.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { claimIds, claimJobs, completeJob, failJob, score, scriptQueues, stored } from "./support/scripts.ts";

connectForFile();
const fresh = scriptQueues("scripts-leases");

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
      running: [a!.id, b!.id, c!.id, "ghost"].map((id) => ({ id, claim: 1 })),
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
    const again = await scripts.renew.run(runner, keys, {
      ...renewal,
      now: now + 6_000,
      running: [a!, b!].map(({ id }) => ({ id, claim: 1 })),
    });
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

  it("fences every write by the claim: a worker given its job back cannot write as its old claim", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t", null, { retry: { max: 3 } });
    const now = Date.now();
    const [first] = (await claimJobs(keys, now, { worker: "w1", lease: 1_000 })).jobs;
    await scripts.recover.run(runner, keys, { now: now + 2_000, lockMs: 60_000 });
    const [second] = (await claimJobs(keys, now + 2_001, { worker: "w1" })).jobs;
    expect([first!.claims, second!.claims, second!.attempts]).toEqual([1, 2, 2]);
    const hash = await redis.hgetall(keys.job(job.id));
    const lease = await score(keys.leases(), job.id);

    const old = { id: job.id, claim: first!.claims, worker: "w1" };
    const at = { now: now + 2_002, step: "s", until: now + 9_000 };
    const child = {
      id: `${job.id}:s`,
      queue: "default",
      fields: ["id", `${job.id}:s`, "queue", "default", "task", "t"],
    };
    const base = { now: at.now, worker: "w1" };
    const refusals = [
      (await scripts.complete.run(runner, keys, { ...base, jobs: [{ ...old, result: "1" }] })).reported[0],
      (
        await scripts.fail.run(runner, keys, {
          ...base,
          jobs: [{ ...old, error: { name: "E", message: "m" }, retryable: true }],
        })
      ).reported[0],
      (
        await scripts.renew.run(runner, keys, {
          ...base,
          leaseMs: 60_000,
          state: {},
          entryTtlMs: 1_000,
          running: [old],
        })
      ).lost,
      await scripts.progress.run(runner, keys, { ...old, update: { progress: 50 } }),
      await scripts.recordStep.run(runner, keys, { ...old, step: "s", result: "1", startedAt: 1, endedAt: 2 }),
      await scripts.suspend.run(runner, keys, { ...old, ...at }),
      await scripts.invoke.run(runner, keys, { ...old, now: at.now, step: "s", child: child as never }),
      await scripts.requeue.run(runner, keys, { ...old, now: at.now }),
    ];
    expect(refusals).toEqual([
      { ok: false, status: "started" },
      { ok: false, status: "started" },
      [job.id],
      { ok: false },
      { ok: false, error: "lost" },
      { ok: false, error: "lost" },
      { ok: false, error: "lost" },
      { ok: false, error: "state", status: "started" },
    ]);
    expect(await redis.hgetall(keys.job(job.id))).toEqual(hash);
    expect(await score(keys.leases(), job.id)).toBe(lease);
    expect(await redis.exists(keys.steps(job.id), keys.job(child.id))).toBe(0);

    // the current claim's word counts; the attempt recovery took is recorded as lost
    const current = { id: job.id, claim: second!.claims, result: "2" };
    expect((await scripts.complete.run(runner, keys, { ...base, jobs: [current] })).reported[0]).toEqual({
      ok: true,
      status: "finished",
    });
    const attempts = await queue.attempts(job.id);
    expect(attempts!.map((a) => [a.attempt, a.status, a.lost, a.result])).toEqual([
      [2, "finished", false, 2],
      [1, "failed", true, null],
    ]);
  });
});
