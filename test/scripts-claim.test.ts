// The claim script (shared/scripts/claim.lua) against a real redis-server,
// driven with explicit `now` values: which jobs a worker takes and in what
// order, the due ones it promotes, the expired ones it fails, the wake marker;
// and complete and fail claiming the worker's next jobs in the same call.
import { describe, expect, it } from "vitest";
import * as scripts from "../shared/scripts/index.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { claimIds, claimJobs, LEASE, score, scriptQueues } from "./support/scripts.ts";

connectForFile();
const fresh = scriptQueues("scripts-claim");

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
      jobs: [{ id: a!.id, claim: 1, result: "null" }],
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
      jobs: [{ id: b!.id, claim: 1, error: { name: "Error", message: "boom" }, retryable: false }],
      next: next(1, ["default"]),
    });
    expect(failed.reported).toEqual([{ ok: true, status: "failed" }]);
    expect(failed.jobs.map((j) => j.id)).toEqual([c!.id]);

    // a worker that lost the job still gets its next ones (none left here)
    const lost = await scripts.complete.run(runner, keys, {
      now: now + 3,
      worker: "w1",
      jobs: [{ id: b!.id, claim: 1, result: "null" }],
      next: next(1, ["default"]),
    });
    expect(lost.reported).toEqual([{ ok: false, status: "failed" }]);
    expect(lost.jobs).toEqual([]);
  });
});
