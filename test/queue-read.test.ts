// Reading jobs with the producer API (shared/queue.ts) against a real
// redis-server: counts per status, and waitFor, which waits for a job's ending
// on its channel instead of polling.
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { JobNotFoundError, Queue } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import * as scripts from "../shared/scripts/index.ts";
import { connectForFile, other, redis } from "./support/connection.ts";
import { freshQueues, uniquePrefix } from "./support/prefixes.ts";
import { commandCalls, startRedisServer } from "./support/redis.ts";
import { rejection } from "./support/refusals.ts";
import { claimAll, report } from "./support/scripts.ts";
import { until } from "./support/worker.ts";

connectForFile();

/** A queue under a key prefix of its own, so every test starts from an empty keyspace. */
const fresh = freshQueues("queue-read", () => redis);

describe("counts", () => {
  it("counts jobs per status", async () => {
    const { queue, keys } = fresh();
    expect(await queue.counts()).toEqual({
      queued: 0,
      scheduled: 0,
      deferred: 0,
      awaiting: 0,
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
      awaiting: 0,
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
        jobs: [{ id: job.id, claim: 1, result: "1" }],
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
