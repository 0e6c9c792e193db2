// The producer API's cancel and requeue (shared/queue.ts) against a real
// redis-server: which statuses each takes a job from and to, what it leaves in
// Redis, and that a job they refuse is left exactly as it was.
import { describe, expect, it } from "vitest";
import { DEFAULTS, JobNotFoundError, JobStateError } from "../shared/index.ts";
import * as scripts from "../shared/scripts/index.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { freshQueues } from "./support/prefixes.ts";
import { keyCount, rejection, snapshot } from "./support/refusals.ts";
import { claimAll, report } from "./support/scripts.ts";

connectForFile();

/** A queue under a key prefix of its own, so every test starts from an empty keyspace. */
const fresh = freshQueues("queue-cancel", () => redis);

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
