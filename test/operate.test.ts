// Operating queues through the producer API against a real redis-server:
// priorities, listing by status with cursors, pause and resume, rate limits
// and fleet-wide concurrency decided inside claim, bulk actions in bounded
// chunks, and a job's earlier attempts. Claims are made with explicit `now`
// values, as a worker's would be, instead of sleeps.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULTS, Queue, ValidationError, type JobStatus } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import type { ScriptRunner } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import { freshQueues } from "./support/prefixes.ts";

const url = inject("redisUrl");
let redis: Redis;
let runner: ScriptRunner;

beforeAll(() => {
  redis = new Redis(url);
  runner = scriptRunner(redis);
});

afterAll(async () => {
  await redis.quit();
});

const fresh = freshQueues("operate", () => redis);

async function claim(queue: Queue, max: number, now = Date.now(), worker = "w1") {
  return scripts.claim.run(runner, queue.keys, {
    now,
    worker,
    next: { leaseMs: 60_000, max, queues: [queue.name] },
  });
}

async function claimIds(queue: Queue, max: number, now = Date.now()): Promise<string[]> {
  return (await claim(queue, max, now)).jobs.map((j) => j.id);
}

/** The claim (lease token) the job is held by now, as its worker would name it. */
async function claimOf(queue: Queue, id: string): Promise<number> {
  return Number(await redis.hget(queue.keys.job(id), "claims"));
}

async function finish(queue: Queue, id: string, now = Date.now()) {
  const step = await scripts.complete.run(runner, queue.keys, {
    now,
    worker: "w1",
    jobs: [{ id, claim: await claimOf(queue, id), result: "null" }],
  });
  return step.reported[0]!;
}

async function failIt(queue: Queue, id: string, now = Date.now()) {
  const error = { name: "Error", message: `boom ${id}` };
  const step = await scripts.fail.run(runner, queue.keys, {
    now,
    worker: "w1",
    jobs: [{ id, claim: await claimOf(queue, id), error, retryable: true }],
  });
  return step.reported[0]!;
}

/** Every page of a listing, following the cursors; and the page sizes seen. */
async function listAll(queue: Queue, status: JobStatus, limit: number): Promise<{ ids: string[]; pages: number[] }> {
  const ids: string[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await queue.list(status, { limit, cursor });
    ids.push(...page.jobs.map((j) => j.id));
    pages.push(page.jobs.length);
    cursor = page.nextCursor;
  } while (cursor);
  return { ids, pages };
}

describe("priorities", () => {
  it("claims by priority (1 first), FIFO within one, no priority before all, atFront first in its band", async () => {
    const { queue } = fresh();
    const low = await queue.enqueue("t", "low", { priority: 10 });
    const high1 = await queue.enqueue("t", "high1", { priority: 1 });
    const plain1 = await queue.enqueue("t", "plain1");
    const high2 = await queue.enqueue("t", "high2", { priority: 1 });
    const plain2 = await queue.enqueue("t", "plain2");
    const urgent = await queue.enqueue("t", "urgent", { priority: 1, atFront: true });
    const lowest = await queue.enqueue("t", "lowest", { priority: DEFAULTS.maxPriority });
    expect(await claimIds(queue, 10)).toEqual([plain1.id, plain2.id, urgent.id, high1.id, high2.id, low.id, lowest.id]);
  });

  it("keeps a job's priority when it is retried or requeued", async () => {
    const { queue } = fresh();
    const job = await queue.enqueue("t", null, { priority: 5, retry: { max: 1 } });
    await claimIds(queue, 1);
    const plain = await queue.enqueue("t");
    const sooner = await queue.enqueue("t", null, { priority: 2 });
    expect((await failIt(queue, job.id)).status).toBe("queued");
    expect(await claimIds(queue, 10)).toEqual([plain.id, sooner.id, job.id]);
  });

  it("refuses a priority outside 1..2^21-1, naming the option", async () => {
    const { queue } = fresh();
    for (const priority of [0, -1, 1.5, DEFAULTS.maxPriority + 1]) {
      const error = await queue.enqueue("t", null, { priority }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toContain("options.priority");
    }
    expect(await queue.counts()).toMatchObject({ queued: 0 });
  });
});

describe("listing", () => {
  it("pages through queued jobs in claim order, each exactly once", async () => {
    const { queue } = fresh();
    const jobs = await queue.enqueueMany(
      Array.from({ length: 250 }, (_, i) => ({ task: "t", args: i, options: i % 3 === 0 ? { priority: 2 } : {} })),
    );
    const { ids, pages } = await listAll(queue, "queued", 100);
    expect(pages).toEqual([100, 100, 50]);
    const plain = jobs.filter((_, i) => i % 3 !== 0).map((j) => j.id);
    const prioritized = jobs.filter((_, i) => i % 3 === 0).map((j) => j.id);
    expect(ids).toEqual([...plain, ...prioritized]);
    expect(await claimIds(queue, 100)).toEqual(ids.slice(0, 100));
  });

  it("lists scheduled jobs by due time, and ended ones newest first", async () => {
    const { queue } = fresh();
    const later = await queue.enqueue("t", null, { delayMs: 60_000 });
    const sooner = await queue.enqueue("t", null, { delayMs: 30_000 });
    expect((await queue.list("scheduled")).jobs.map((j) => j.id)).toEqual([sooner.id, later.id]);

    const done = await queue.enqueueMany(Array.from({ length: 5 }, () => ({ task: "t" })));
    const now = Date.now();
    await claimIds(queue, 5, now);
    for (const [i, job] of done.entries()) await finish(queue, job.id, now + i);
    const { ids } = await listAll(queue, "finished", 2);
    expect(ids).toEqual(done.map((j) => j.id).reverse());
  });

  it("pages through jobs that share a score, none twice and none left out", async () => {
    const { queue } = fresh();
    const jobs = await queue.enqueueMany(Array.from({ length: 7 }, () => ({ task: "t" })));
    const now = Date.now();
    await claimIds(queue, 7, now);
    // ended in the same millisecond with the same TTL: one expiry score for all seven
    for (const job of jobs) await finish(queue, job.id, now);
    const { ids } = await listAll(queue, "finished", 3);
    expect([...ids].sort()).toEqual(jobs.map((j) => j.id).sort());
  });

  it("refuses a cursor it did not give out, and a limit over 200", async () => {
    const { queue } = fresh();
    for (const options of [{ cursor: "not-a-cursor" }, { cursor: btoa('["1",-3]') }, { limit: 201 }]) {
      await expect(queue.list("queued", options)).rejects.toBeInstanceOf(ValidationError);
    }
  });
});

describe("pause and resume", () => {
  it("a paused queue takes jobs but no claim starts one; resuming wakes idle workers", async () => {
    const { queue, keys } = fresh();
    await queue.pause();
    const job = await queue.enqueue("t");
    expect(await claimIds(queue, 10)).toEqual([]);
    expect(await queue.info()).toMatchObject({ paused: true, counts: { queued: 1 } });
    await redis.del(keys.wake("default"));
    await queue.resume();
    expect(await redis.llen(keys.wake("default"))).toBe(1);
    expect(await queue.info()).toMatchObject({ paused: false });
    expect(await claimIds(queue, 10)).toEqual([job.id]);
  });
});

describe("rate limits and fleet-wide concurrency", () => {
  it("starts at most max jobs in any window of perMs, and says when the window opens", async () => {
    const { queue } = fresh();
    await queue.configure({ limit: { max: 3, perMs: 1_000 } });
    await queue.enqueueMany(Array.from({ length: 8 }, () => ({ task: "t" })));
    const t0 = Date.now();
    const first = await claim(queue, 10, t0);
    expect(first.jobs).toHaveLength(3);
    const blocked = await claim(queue, 10, t0 + 500, "w2");
    expect(blocked.jobs).toEqual([]);
    expect(blocked.nextDueAt).toBe(t0 + 1_000);
    expect((await claim(queue, 10, t0 + 1_000, "w2")).jobs).toHaveLength(3);
    expect(await queue.info()).toMatchObject({ limit: { max: 3, perMs: 1_000 } });
  });

  it("starts at most `concurrency` jobs of the queue at once across workers", async () => {
    const { queue, keys } = fresh();
    await queue.configure({ concurrency: 2 });
    await queue.enqueueMany(Array.from({ length: 5 }, () => ({ task: "t" })));
    const [a] = (await claim(queue, 1, Date.now(), "w1")).jobs;
    expect((await claim(queue, 10, Date.now(), "w2")).jobs).toHaveLength(1);
    expect((await claim(queue, 10, Date.now(), "w3")).jobs).toEqual([]);
    // a queue at its cap is not re-armed; a job leaving the started registry wakes its idle workers
    await redis.del(keys.wake("default"));
    await finish(queue, a!.id);
    expect(await redis.llen(keys.wake("default"))).toBe(1);
    expect((await claim(queue, 10, Date.now(), "w3")).jobs).toHaveLength(1);
    await queue.configure({ concurrency: null });
    expect((await queue.info()).concurrency).toBeUndefined();
  });

  it("refuses settings out of range, naming them", async () => {
    const { queue } = fresh();
    const error = await queue.configure({ concurrency: 0, limit: { max: 1, perMs: -5 } }).catch((e: unknown) => e);
    expect((error as ValidationError).issues.map((i) => i.field).sort()).toEqual(["concurrency", "limit.perMs"]);
  });
});

describe("bulk actions, in bounded chunks", () => {
  it("requeues every failed job, a chunk per call", async () => {
    const { queue } = fresh();
    const count = DEFAULTS.scriptBatch + 20;
    const jobs = [
      ...(await queue.enqueueMany(Array.from({ length: DEFAULTS.scriptBatch }, () => ({ task: "t" })))),
      ...(await queue.enqueueMany(Array.from({ length: 20 }, () => ({ task: "t" })))),
    ];
    // a claim takes at most a batch per call
    expect((await claimIds(queue, count)).length + (await claimIds(queue, count)).length).toBe(count);
    for (const job of jobs) expect((await failIt(queue, job.id)).status).toBe("failed");
    expect(await queue.requeueAll("failed", { chunks: 1 })).toEqual({ count: DEFAULTS.scriptBatch, more: true });
    expect(await queue.requeueAll()).toEqual({ count: 20, more: false });
    expect(await queue.counts()).toMatchObject({ failed: 0, queued: count });
    expect((await queue.getJob(jobs[0]!.id))!).toMatchObject({ status: "queued", attempts: 0, error: null });
  });

  it("empties the queue: every queued job canceled, the rest left alone", async () => {
    const { queue } = fresh();
    const waiting = await queue.enqueueMany(Array.from({ length: 130 }, () => ({ task: "t" })));
    const scheduled = await queue.enqueue("t", null, { delayMs: 60_000 });
    expect(await queue.empty()).toEqual({ count: 130, more: false });
    expect(await queue.counts()).toMatchObject({ queued: 0, canceled: 130, scheduled: 1 });
    expect((await queue.getJob(waiting[7]!.id))!.error).toMatchObject({ name: "JobCanceledError" });
    expect((await queue.getJob(scheduled.id))!.status).toBe("scheduled");
  });

  it("cleans ended jobs older than a time, and keeps the younger", async () => {
    const { queue, keys } = fresh();
    const [old1, old2, young] = await queue.enqueueMany([{ task: "t" }, { task: "t" }, { task: "t" }]);
    const now = Date.now();
    await claimIds(queue, 3, now);
    await finish(queue, old1!.id, now - 10 * 60_000);
    await finish(queue, old2!.id, now - 9 * 60_000);
    await finish(queue, young!.id, now);
    expect(await queue.clean("finished", 5 * 60_000)).toEqual({ count: 2, more: false, cursor: null });
    expect(await queue.getJob(old1!.id)).toBeNull();
    expect(await redis.exists(keys.job(old2!.id))).toBe(0);
    expect((await queue.getJob(young!.id))!.status).toBe("finished");
    expect(await redis.zcard(keys.registry("finished", "default"))).toBe(1);
  });

  it("goes on from where a call cut short stopped, past the jobs it keeps", async () => {
    const { queue } = fresh();
    const now = Date.now();
    // young jobs that expire soon sort before an old one kept a year: a clean walks past them all
    const young = await queue.enqueueMany(
      Array.from({ length: 150 }, () => ({ task: "t", options: { failureTtlSec: 60 } })),
    );
    const old = await queue.enqueue("t");
    await scripts.cancel.run(runner, queue.keys, { now: now - 3_600_000, id: old.id });
    for (const job of young) await queue.cancel(job.id);

    // one script call a request: it keeps the first 100, and says where it stopped
    const first = await queue.clean("canceled", 30 * 60_000, { chunks: 1 });
    expect(first).toEqual({ count: 0, more: true, cursor: 100 });
    const second = await queue.clean("canceled", 30 * 60_000, { chunks: 1, cursor: first.cursor });
    expect(second).toEqual({ count: 1, more: false, cursor: null });
    expect(await queue.getJob(old.id)).toBeNull();
    expect((await queue.info()).counts.canceled).toBe(150);
  });
});

describe("attempts", () => {
  it("keeps every attempt's outcome, newest first, the latest being the job itself", async () => {
    const { queue } = fresh();
    const job = await queue.enqueue("t", null, { retry: { max: 2 } });
    for (let i = 0; i < 2; i++) {
      await claimIds(queue, 1);
      await failIt(queue, job.id);
    }
    await claimIds(queue, 1);
    await finish(queue, job.id);
    const attempts = await queue.attempts(job.id);
    expect(attempts!.map((a) => [a.attempt, a.status])).toEqual([
      [3, "finished"],
      [2, "failed"],
      [1, "failed"],
    ]);
    expect(attempts![1]).toMatchObject({ worker: "w1", error: { message: `boom ${job.id}` }, result: null });
    expect(attempts![1]!.startedAt).not.toBeNull();
    // the final attempt keeps its worker once the job ended
    expect(attempts![0]).toMatchObject({ worker: "w1", status: "finished" });
    expect(await queue.attempts("no-such-job")).toBeNull();
  });

  it("keeps the worker of an ended attempt a requeue puts in the history; the requeued job has none", async () => {
    const { queue } = fresh();
    const job = await queue.enqueue("t");
    await claimIds(queue, 1);
    await failIt(queue, job.id);
    expect(await queue.attempts(job.id)).toMatchObject([{ attempt: 1, status: "failed", worker: "w1" }]);
    const requeued = await queue.requeue(job.id);
    expect(requeued).toMatchObject({ status: "queued", attempts: 0 });
    expect(await redis.hget(queue.keys.job(job.id), "workerName")).toBeNull();
    expect(await queue.attempts(job.id)).toMatchObject([{ attempt: 1, status: "failed", worker: "w1" }]);
  });
});

describe("bounded work", () => {
  it("a claim visits at most a batch of expired jobs per call, and says more may follow", async () => {
    const { queue } = fresh();
    const expired = await queue.enqueueMany(
      Array.from({ length: DEFAULTS.scriptBatch + 30 }, () => ({ task: "t", options: { ttlSec: 1 } })),
    );
    const fresh1 = await queue.enqueue("t");
    const later = expired[0]!.enqueuedAt! + 5_000;
    const first = await claim(queue, 1, later);
    expect(first).toMatchObject({ jobs: [], more: true });
    expect(await queue.counts()).toMatchObject({ failed: DEFAULTS.scriptBatch, queued: 31 });
    const second = await claim(queue, 1, later);
    expect(second.jobs.map((j) => j.id)).toEqual([fresh1.id]);
    expect(await queue.counts()).toMatchObject({ failed: DEFAULTS.scriptBatch + 30, queued: 0 });
  });

  it("a failure cancels at most a batch of its dependents; maintenance passes cancel the rest", async () => {
    const { queue } = fresh();
    const parent = await queue.enqueue("t");
    const fanOut = DEFAULTS.scriptBatch * 2 + 50;
    for (let i = 0; i < fanOut; i += DEFAULTS.scriptBatch) {
      const chunk = Math.min(DEFAULTS.scriptBatch, fanOut - i);
      await queue.enqueueMany(
        Array.from({ length: chunk }, () => ({ task: "t", options: { dependsOn: [parent.id] } })),
      );
    }
    const now = Date.now();
    await claim(queue, 1, now);
    await scripts.fail.run(runner, queue.keys, {
      now,
      worker: "w1",
      jobs: [{ id: parent.id, claim: 1, error: { name: "Error", message: "boom" }, retryable: false }],
    });
    expect(await queue.counts()).toMatchObject({
      canceled: DEFAULTS.scriptBatch,
      deferred: fanOut - DEFAULTS.scriptBatch,
    });

    let passes = 0;
    let pass: { more: boolean };
    do {
      pass = await scripts.recover.run(runner, queue.keys, { now: now + ++passes, lockMs: 60_000 });
    } while (pass.more);
    expect(await queue.counts()).toMatchObject({ canceled: fanOut, deferred: 0 });
    const sample = (await queue.list("canceled", { limit: 1 })).jobs[0]!;
    expect(sample.error).toMatchObject({ name: "DependencyFailedError" });
  });

  it("a maintenance pass visits a share of the queues, and empty ones leave the set with their events", async () => {
    const { prefix, queue } = fresh();
    const names = Array.from({ length: 130 }, (_, i) => `q${String(i).padStart(3, "0")}`);
    const ids: string[] = [];
    for (const name of names)
      ids.push((await new Queue(name, { redis, prefix }).enqueue("t", null, { failureTtlSec: 1 })).id);
    for (const id of ids) await queue.cancel(id);
    const later = Date.now() + 5_000;
    expect(await redis.zcard(queue.keys.queues())).toBe(names.length);

    const first = await scripts.recover.run(runner, queue.keys, { now: later, lockMs: 60_000 });
    expect(first.more).toBe(true);
    const left = await redis.zcard(queue.keys.queues());
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(names.length);

    let passes = 1;
    while ((await scripts.recover.run(runner, queue.keys, { now: later + passes, lockMs: 60_000 })).more) passes++;
    expect(await redis.zcard(queue.keys.queues())).toBe(0);
    expect(await redis.exists(queue.keys.queueEvents(names[0]!))).toBe(0);
    expect(passes).toBeGreaterThan(1);
  });
});
