// Nothing is lost (DESIGN.md, invariants 1 and 2): a worker killed with
// SIGKILL mid-job leaves a lease that runs out, and another worker's
// maintenance pass retries the job or fails it with AbandonedJobError; a
// Redis restart (AOF) mid-job costs the job nothing. Workers run with a 1 s
// lease and a 300 ms maintenance interval, so recovery happens within a test.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { Queue, type JobOptions } from "../shared/index.ts";
import { startRedisServer } from "./support/redis.ts";
import { prefixesFor } from "./support/prefixes.ts";
import { isAlive, pidFrom, test, until, type Workers } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const freshPrefix = prefixesFor("recovery");
let redis: Redis;
let dir: string;
let seq = 0;

beforeAll(async () => {
  redis = new Redis(redisUrl);
  dir = await mkdtemp(join(tmpdir(), "edgeq-recovery-test-"));
});

afterAll(async () => {
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Worker A takes a long job; then A and the job's horse are killed with
 * SIGKILL, as when the machine under them dies, and worker B is started.
 */
async function killMidJob(workers: Workers, options: JobOptions) {
  const prefix = freshPrefix();
  const queue = new Queue("default", { redis, prefix });
  const pidFile = join(dir, `horse-${++seq}.pid`);
  const a = await workers.start({ redis, redisUrl, prefix });
  // a second attempt returns at once, so that a re-run can finish
  const job = await queue.enqueue("hang", { pidFile, ms: 60_000, quickFromAttempt: 2 }, options);
  const horse = await pidFrom(pidFile);
  a.signal("SIGKILL");
  process.kill(horse, "SIGKILL");
  expect(await a.exited).toEqual({ code: null, signal: "SIGKILL" });
  await until(`horse ${horse} to exit`, 5_000, () => !isAlive(horse));
  // nobody renews its lease now, but until it runs out the job is A's
  expect((await queue.getJob(job.id))!.status).toBe("started");
  const b = await workers.start({ redis, redisUrl, prefix });
  return { queue, job, horse, b };
}

describe.concurrent("a worker killed mid-job", () => {
  test("its job is recovered and re-run by another worker when the retry policy allows", async ({ workers }) => {
    const { queue, job, horse } = await killMidJob(workers, { retry: { max: 1 } });
    const done = await queue.waitFor(job.id, { timeoutMs: 15_000 });
    expect(done).toMatchObject({ status: "finished", attempts: 2, result: { attempts: 2 }, error: null });
    expect((done.result as { pid: number }).pid).not.toBe(horse);
    expect(await queue.counts()).toMatchObject({ started: 0, finished: 1, failed: 0 });
  });

  test("without retries its job ends failed with AbandonedJobError", async ({ workers }) => {
    const { queue, job } = await killMidJob(workers, {});
    const done = await queue.waitFor(job.id, { timeoutMs: 15_000 });
    expect(done).toMatchObject({ status: "failed", attempts: 1, result: null });
    expect(done.error!.name).toBe("AbandonedJobError");
    expect(await queue.counts()).toMatchObject({ started: 0, failed: 1 });
  });
});

describe.concurrent("a worker frozen past its lease", () => {
  test("loses its job to recovery, kills its horse when it wakes, and does not overwrite the outcome", async ({
    workers,
  }) => {
    const prefix = freshPrefix();
    const queue = new Queue("default", { redis, prefix });
    const pidFile = join(dir, `horse-${++seq}.pid`);
    const a = await workers.start({ redis, redisUrl, prefix });
    const job = await queue.enqueue("hang", { pidFile, ms: 60_000, quickFromAttempt: 2 }, { retry: { max: 1 } });
    const horse = await pidFrom(pidFile);
    // a stopped process renews nothing, as a worker stalled by a long GC pause or a frozen VM
    a.signal("SIGSTOP");
    await workers.start({ redis, redisUrl, prefix });
    const rerun = await queue.waitFor(job.id, { timeoutMs: 15_000 });
    expect(rerun).toMatchObject({ status: "finished", attempts: 2, result: { attempts: 2 } });
    expect(isAlive(horse)).toBe(true);

    a.signal("SIGCONT");
    // its next renewal says the job is no longer its own: it ends the horse and reports nothing
    await until(`horse ${horse} of the woken worker to exit`, 10_000, () => !isAlive(horse));
    await until("the woken worker to heartbeat again", 10_000, async () =>
      (await queue.info()).workers.some((w) => w.name === a.name && w.state === "idle"),
    );
    expect(await queue.getJob(job.id)).toMatchObject({
      status: "finished",
      attempts: 2,
      result: { attempts: 2 },
      error: null,
    });
    expect(await queue.counts()).toMatchObject({ started: 0, finished: 1, failed: 0, queued: 0 });
  });
});

describe.concurrent("leases", () => {
  test("a job that runs for several leases keeps its lease and is never recovered from its live worker", async ({
    workers,
  }) => {
    const prefix = freshPrefix();
    const queue = new Queue("default", { redis, prefix });
    // two workers: whichever does not take the job runs maintenance passes beside it
    await Promise.all([0, 1].map(() => workers.start({ redis, redisUrl, prefix })));
    const job = await queue.enqueue("hang", { ms: 3_000 });
    const done = await queue.waitFor(job.id, { timeoutMs: 15_000 });
    expect(done).toMatchObject({ status: "finished", attempts: 1, error: null });
    expect(done.endedAt! - done.startedAt!).toBeGreaterThanOrEqual(3_000);
  });
});

describe.concurrent("Redis restarts", () => {
  test("a job that ends while Redis is down is reported when it is back; the worker goes on", async ({ workers }) => {
    const server = await startRedisServer({ appendonly: true });
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    client.on("error", () => {}); // it reconnects on its own
    try {
      const prefix = freshPrefix();
      const queue = new Queue("default", { redis: client, prefix });
      const pidFile = join(dir, `horse-${++seq}.pid`);
      const doneFile = join(dir, `done-${seq}`);
      const worker = await workers.start({ redis: client, redisUrl: server.url, prefix });
      const job = await queue.enqueue("hang", { pidFile, doneFile, ms: 1_500 });
      const horse = await pidFrom(pidFile);

      await server.stop();
      // the task completes in its horse while Redis is away, for longer than a lease
      await until("the task to finish with Redis down", 10_000, () => existsSync(doneFile));
      await server.start();

      const done = await queue.waitFor(job.id, { timeoutMs: 15_000 });
      expect(done).toMatchObject({ status: "finished", attempts: 1, result: { pid: horse, attempts: 1 } });
      // the restarted server has no scripts cached (NOSCRIPT) and the worker reconnects
      const after = await queue.enqueue("echo", "after the restart");
      expect(await queue.waitFor(after.id, { timeoutMs: 15_000 })).toMatchObject({
        status: "finished",
        result: "after the restart",
      });
      // the same process, heartbeating again (its entry may have expired during the outage)
      expect(worker.running).toBe(true);
      await until("the worker's entry to be back", 5_000, async () =>
        (await queue.info()).workers.some((w) => w.name === worker.name && w.pid === worker.pid),
      );
    } finally {
      await workers.killAll();
      client.disconnect();
      await server.destroy();
    }
  });
});
