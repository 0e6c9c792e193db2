// How a real worker process ends: warm shutdown (one SIGTERM or SIGINT:
// finish the running jobs, take no more), cold shutdown (a second signal:
// kill the horses, put their jobs back at the front of their queues,
// uncounted), and --burst (exit once the queues are empty). Outcomes are
// read from Redis and from the process's exit, never from its logs.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { Queue } from "../shared/index.ts";
import { startRedisServer } from "./support/redis.ts";
import { prefixesFor } from "./support/prefixes.ts";
import { isAlive, pidFrom, test, until, type WorkerProcess } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const freshPrefix = prefixesFor("shutdown");
let redis: Redis;
let dir: string;
let seq = 0;

beforeAll(async () => {
  redis = new Redis(redisUrl);
  dir = await mkdtemp(join(tmpdir(), "edgeq-shutdown-test-"));
});

afterAll(async () => {
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

function setup(): { prefix: string; queue: Queue; pidFile: string } {
  const prefix = freshPrefix();
  return { prefix, queue: new Queue("default", { redis, prefix }), pidFile: join(dir, `horse-${++seq}.pid`) };
}

/** Until the worker's own entry in Redis says it is shutting down warm. */
async function untilWarm(queue: Queue, worker: WorkerProcess): Promise<void> {
  await until(`worker ${worker.name} to report a warm shutdown`, 10_000, async () => {
    const { workers } = await queue.info();
    return workers.find((w) => w.name === worker.name)?.state === "warm";
  });
}

describe.concurrent("warm shutdown", () => {
  for (const [how, send] of [
    ["SIGTERM to the worker", (w: WorkerProcess) => w.signal("SIGTERM")],
    ["Ctrl-C (SIGINT to the worker and its horses)", (w: WorkerProcess) => w.signalGroup("SIGINT")],
  ] as const) {
    test(`${how}: the running job finishes, no other starts, the worker exits 0`, async ({ workers }) => {
      const { prefix, queue, pidFile } = setup();
      const worker = await workers.start({ redis, redisUrl, prefix });
      const running = await queue.enqueue("hang", { pidFile, ms: 1_000 });
      const horse = await pidFrom(pidFile);
      send(worker);
      await untilWarm(queue, worker);
      const late = await queue.enqueue("echo", "too late");

      expect(await worker.waitExit(10_000)).toEqual({ code: 0, signal: null });
      const job = await queue.getJob(running.id);
      expect(job).toMatchObject({ status: "finished", attempts: 1, result: { pid: horse, attempts: 1 } });
      expect(await queue.getJob(late.id)).toMatchObject({ status: "queued", attempts: 0, startedAt: null });
      const info = await queue.info();
      expect(info.counts).toMatchObject({ queued: 1, started: 0, finished: 1, failed: 0 });
      // it took its entry out of Redis on the way out
      expect(info.workers).toEqual([]);
      await until(`horse ${horse} to exit`, 5_000, () => !isAlive(horse));
    });
  }
});

describe.concurrent("cold shutdown", () => {
  for (const [how, first, second] of [
    ["two SIGTERMs", "SIGTERM", "SIGTERM"],
    ["SIGTERM, then SIGINT", "SIGTERM", "SIGINT"],
  ] as const) {
    test(`${how}: the running job goes back to the front of its queue, uncounted, and its horse is killed`, async ({
      workers,
    }) => {
      const { prefix, queue, pidFile } = setup();
      const worker = await workers.start({ redis, redisUrl, prefix });
      const long = await queue.enqueue("hang", { pidFile, ms: 60_000 });
      const horse = await pidFrom(pidFile);
      const behind = await queue.enqueue("echo", "waiting");
      expect((await queue.getJob(long.id))!.status).toBe("started");

      worker.signal(first);
      // the same signal twice in a row could merge into one before the worker
      // runs; wait until it has taken the first
      if (second === first) await untilWarm(queue, worker);
      worker.signal(second);

      expect(await worker.waitExit(5_000)).toEqual({ code: 0, signal: null });
      expect(await queue.getJob(long.id)).toMatchObject({
        status: "queued",
        attempts: 0,
        startedAt: null,
        error: null,
      });
      expect(await redis.zrange(queue.keys.waiting("default"), "0", "-1")).toEqual([long.id, behind.id]);
      expect(await redis.zcard(queue.keys.registry("started", "default"))).toBe(0);
      expect((await queue.info()).workers).toEqual([]);
      await until(`horse ${horse} to exit`, 5_000, () => !isAlive(horse));
    });
  }
});

describe.concurrent("--burst", () => {
  test("works until the queues are empty, waiting for scheduled retries, then exits 0", async ({ workers }) => {
    const { prefix, queue } = setup();
    const jobs = await queue.enqueueMany([
      { task: "echo", args: 1 },
      { task: "flaky", args: { until: 2 }, options: { retry: { max: 1, backoff: { type: "fixed", delayMs: 200 } } } },
      { task: "fail" },
      { task: "echo", args: 2 },
    ]);
    const worker = await workers.start({
      redis,
      redisUrl,
      prefix,
      flags: ["--burst", "--concurrency", "2"],
      noWait: true,
    });
    expect(await worker.waitExit(15_000)).toEqual({ code: 0, signal: null });
    const done = await Promise.all(jobs.map((j) => queue.getJob(j.id)));
    expect(done.map((j) => j!.status)).toEqual(["finished", "finished", "failed", "finished"]);
    expect(done[1]).toMatchObject({ attempts: 2, result: { attempts: 2 } });
    const info = await queue.info();
    expect(info.counts).toMatchObject({ queued: 0, scheduled: 0, started: 0, finished: 3, failed: 1 });
    expect(info.workers).toEqual([]);
  });

  test("exits 0 at once when there is nothing to do", async ({ workers }) => {
    const { prefix } = setup();
    const worker = await workers.start({ redis, redisUrl, prefix, flags: ["--burst"], noWait: true });
    expect(await worker.waitExit(15_000)).toEqual({ code: 0, signal: null });
  });
});

describe("a shutdown ends", () => {
  test("when Redis is unreachable: within the kill grace and a few seconds, the job left to lease recovery", async ({
    workers,
  }) => {
    // a server of its own, to stop and start again (with AOF, so the job survives)
    const server = await startRedisServer({ appendonly: true });
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    try {
      const { prefix, pidFile } = setup();
      const queue = new Queue("default", { redis: client, prefix });
      const worker = await workers.start({ redis: client, redisUrl: server.url, prefix });
      const job = await queue.enqueue("hang", { pidFile, ms: 300 }, { retry: { max: 1 } });
      await pidFrom(pidFile);
      await server.stop();
      const stoppedAt = Date.now();
      worker.signal("SIGTERM");
      // FAST_ENV's kill grace is 300 ms; the bound adds 5 s for writes
      expect(await worker.waitExit(15_000)).toEqual({ code: 0, signal: null });
      expect(Date.now() - stoppedAt).toBeLessThan(300 + 5_000 + 3_000);
      expect(worker.output).toMatch(/left to lease recovery/);

      // once Redis is back, another worker recovers the job from its lease and runs it again
      await server.start();
      await workers.start({ redis: client, redisUrl: server.url, prefix });
      const recovered = await queue.waitFor(job.id, { timeoutMs: 15_000 });
      expect(recovered).toMatchObject({ status: "finished", attempts: 2 });
    } finally {
      await workers.killAll();
      client.disconnect();
      await server.destroy();
    }
  });
});
