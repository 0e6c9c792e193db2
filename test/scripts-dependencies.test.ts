// Dependencies in the Lua scripts against a real redis-server, driven with
// explicit `now` values: a job deferred until the jobs it depends on finish,
// released when they do, and canceled with DependencyFailedError when one fails.
import { describe, expect, it } from "vitest";
import { connectForFile, redis } from "./support/connection.ts";
import { claimIds, completeJob, failJob, score, scriptQueues } from "./support/scripts.ts";

connectForFile();
const fresh = scriptQueues("scripts-dependencies");

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
