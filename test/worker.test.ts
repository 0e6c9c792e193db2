// The worker with real parts: real worker processes (worker-node/main.ts),
// real horses, a real redis-server and the producer API. Each test enqueues
// with `Queue`, and asserts what the job view and Redis say afterwards.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { DEFAULTS, Queue, type JobView } from "../shared/index.ts";
import { startRedisServer, type RedisServer } from "./support/redis.ts";
import { prefixesFor } from "./support/prefixes.ts";
import { horsesOf, isAlive, pidFrom, test, until, Workers, type WorkerProcess } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const freshPrefix = prefixesFor("worker");
let redis: Redis;
let dir: string;
let seq = 0;

beforeAll(async () => {
  redis = new Redis(redisUrl);
  dir = await mkdtemp(join(tmpdir(), "edgeq-worker-test-"));
});

afterAll(async () => {
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/** A file path for a fixture task to leave its pid in. */
function pidFile(): string {
  return join(dir, `horse-${++seq}.pid`);
}

/**
 * createdAt ≤ enqueuedAt, read from the producer's clock, and startedAt ≤
 * endedAt, from the worker's. Across the two clocks only roughly: every
 * script takes "now" from its caller, so a claim whose "now" was read just
 * before the job was enqueued records a startedAt before its enqueuedAt
 * (seen: 12 ms on one loaded machine; between machines, their clock skew).
 */
function ordered(job: JobView): void {
  expect(job.enqueuedAt!).toBeGreaterThanOrEqual(job.createdAt);
  expect(job.endedAt!).toBeGreaterThanOrEqual(job.startedAt!);
  expect(job.startedAt!).toBeGreaterThanOrEqual(job.enqueuedAt! - 1_000);
}

describe.concurrent("one worker, a horse per job", () => {
  // These tests look only at their own jobs, so they share a worker; its
  // slots run them side by side, each job in a horse of its own.
  const prefix = freshPrefix();
  const shared = new Workers();
  let worker: WorkerProcess;
  let queue: Queue;

  beforeAll(async () => {
    worker = await shared.start({ redis, redisUrl, prefix, flags: ["--concurrency", "4"] });
    queue = new Queue("default", { redis, prefix });
  });

  afterAll(() => shared.killAll());

  test("runs a task in a horse and stores what it returns", async () => {
    const args = { hello: "world", n: [1, 2, 3] };
    const enqueued = await queue.enqueue("echo", args);
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "finished", task: "echo", result: args, error: null, attempts: 1 });
    ordered(job);
    expect(await redis.zscore(queue.keys.registry("finished", "default"), job.id)).not.toBeNull();
    expect(await redis.zscore(queue.keys.registry("started", "default"), job.id)).toBeNull();
  });

  test("fails a job whose task throws, keeping the error's name, message and stack", async () => {
    const enqueued = await queue.enqueue("fail", { message: "boom" });
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "failed", result: null, attempts: 1 });
    expect(job.error).toMatchObject({ name: "Error", message: "boom" });
    expect(job.error!.stack).toMatch(/^Error: boom\n\s+at fail \(/);
    ordered(job);
    expect(await redis.zscore(queue.keys.registry("failed", "default"), job.id)).not.toBeNull();
  });

  test("an error's stack names the task's own functions and file", async () => {
    const enqueued = await queue.enqueue("throwHere");
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job.status).toBe("failed");
    expect(job.error).toMatchObject({ name: "TypeError", message: "thrown from the fixture module" });
    expect(job.error!.stack).toMatch(/at explode \(.*test\/fixtures\/tasks\.ts:\d+:\d+\)/);
    expect(job.error!.stack).toMatch(/at throwHere \(.*test\/fixtures\/tasks\.ts:\d+:\d+\)/);
  });

  test("retries with exponential backoff until the task succeeds", async () => {
    const enqueued = await queue.enqueue(
      "flaky",
      { until: 3 },
      { retry: { max: 3, backoff: { type: "exponential", delayMs: 50 } } },
    );
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "finished", attempts: 3, result: { attempts: 3 }, error: null });
    // attempt 2 waited 50 ms, attempt 3 another 100 ms (less any slack between
    // the producer's clock and the worker's: see ordered())
    expect(job.startedAt! - job.createdAt).toBeGreaterThanOrEqual(100);
  });

  test("fails with the last error once the retries run out", async () => {
    const enqueued = await queue.enqueue(
      "flaky",
      { until: 10 },
      { retry: { max: 2, backoff: { type: "fixed", delayMs: 20 } } },
    );
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "failed", attempts: 3, result: null });
    expect(job.error).toMatchObject({ name: "Error", message: "attempt 3 failed" });
  });

  test("fails an unknown task at once, naming the task and the queue, whatever the retry policy", async () => {
    const enqueued = await queue.enqueue("no-such-task", {}, { retry: { max: 3 } });
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    expect(job.error!.name).toBe("UnknownTaskError");
    expect(job.error!.message).toContain('"no-such-task"');
    expect(job.error!.message).toContain('queue "default"');
  });

  test("a horse that crashes fails its job with the exit code; the worker goes on", async () => {
    const enqueued = await queue.enqueue("crash", { code: 7 });
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    expect(job.error!.name).toBe("HorseCrashedError");
    expect(job.error!.message).toMatch(/exited with code 7/);
    const next = await queue.enqueue("echo", "after the crash");
    expect(await queue.waitFor(next.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "finished",
      result: "after the crash",
    });
    expect(worker.running).toBe(true);
  });

  test("stops a started job when asked to, killing its horse", async () => {
    const file = pidFile();
    const enqueued = await queue.enqueue("hang", { pidFile: file, ms: 60_000 });
    const horse = await pidFrom(file);
    expect((await queue.getJob(enqueued.id))!.status).toBe("started");
    const asked = await queue.cancel(enqueued.id);
    expect(asked.status).toBe("started");
    // published to the worker at once (and found again at its next renewal)
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "stopped", attempts: 1 });
    expect(job.error!.name).toBe("JobStoppedError");
    await until(`horse ${horse} to exit`, 5_000, () => !isAlive(horse));
    expect(await redis.zscore(queue.keys.registry("stopped", "default"), job.id)).not.toBeNull();
  });

  test("shows a running task's progress and meta, and writes the last of them before the outcome", async () => {
    const enqueued = await queue.enqueue("steps", { n: 4, ms: 150 });
    const midway = await until("progress while the job runs", 10_000, async () => {
      const job = await queue.getJob(enqueued.id);
      return job?.status === "started" && typeof job.progress === "number" && job.progress < 100 ? job : null;
    });
    expect(midway.meta).toMatchObject({ step: expect.any(Number) });
    const done = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: "finished", progress: 100, meta: { step: 4 }, result: { steps: 4 } });
  });

  test("fails a job whose result is over the size limit, without retrying it", async () => {
    const enqueued = await queue.enqueue("big", { bytes: DEFAULTS.maxResultBytes + 1 }, { retry: { max: 3 } });
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "failed", attempts: 1, result: null, error: { name: "ResultTooLargeError" } });
    expect(job.error!.message).toContain(`the limit is ${DEFAULTS.maxResultBytes}`);
  });

  test("gives every job a fresh horse by default, never the worker's own process", async () => {
    const jobs = await queue.enqueueMany(Array.from({ length: 5 }, () => ({ task: "pid" })));
    const done = await Promise.all(jobs.map((j) => queue.waitFor(j.id, { timeoutMs: 10_000 })));
    const pids = done.map((j) => (j.result as { pid: number }).pid);
    expect(new Set(pids).size).toBe(5);
    expect(pids).not.toContain(worker.pid);
  });
});

describe.concurrent("workers of their own", () => {
  test("hears a stop request at once, not only at its next lease renewal", async ({ workers }) => {
    const prefix = freshPrefix();
    // no renewal or heartbeat for 20 s: the stop must arrive by pub/sub
    await workers.start({ redis, redisUrl, prefix, env: { EDGEQ_LEASE_MS: "60000", EDGEQ_HEARTBEAT_MS: "60000" } });
    const queue = new Queue("default", { redis, prefix });
    const file = pidFile();
    const enqueued = await queue.enqueue("hang", { pidFile: file, ms: 60_000 });
    const horse = await pidFrom(file);
    expect((await queue.cancel(enqueued.id)).status).toBe("started");
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 8_000 });
    expect(job).toMatchObject({ status: "stopped", error: { name: "JobStoppedError" } });
    await until(`horse ${horse} to exit`, 5_000, () => !isAlive(horse));
  });

  test("kills a horse that outlives its timeout, even one that ignores SIGTERM, and keeps serving", async ({
    workers,
  }) => {
    const prefix = freshPrefix();
    const worker = await workers.start({ redis, redisUrl, prefix });
    const queue = new Queue("default", { redis, prefix });

    const politeFile = pidFile();
    const polite = await queue.enqueue("hang", { pidFile: politeFile, ms: 60_000 }, { timeoutMs: 300 });
    const timedOut = await queue.waitFor(polite.id, { timeoutMs: 10_000 });
    expect(timedOut).toMatchObject({ status: "failed", attempts: 1 });
    expect(timedOut.error).toMatchObject({ name: "JobTimeoutError" });
    expect(timedOut.error!.message).toContain("300 ms");
    const politeHorse = await pidFrom(politeFile);
    await until(`horse ${politeHorse} to exit`, 5_000, () => !isAlive(politeHorse));

    // a horse that survives SIGTERM gets SIGKILL after EDGEQ_KILL_GRACE_MS
    const stubbornFile = pidFile();
    const stubborn = await queue.enqueue("stubborn", { pidFile: stubbornFile }, { timeoutMs: 300 });
    expect(await queue.waitFor(stubborn.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "failed",
      error: { name: "JobTimeoutError" },
    });
    const stubbornHorse = await pidFrom(stubbornFile);
    await until(`horse ${stubbornHorse} to exit`, 5_000, () => !isAlive(stubbornHorse));

    const sleeper = await queue.enqueue("sleep", { ms: 60_000 }, { timeoutMs: 300 });
    expect(await queue.waitFor(sleeper.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "failed",
      error: { name: "JobTimeoutError" },
    });

    // one slot, so a slot the timeouts leaked would leave this job queued
    const echo = await queue.enqueue("echo", "still here");
    expect(await queue.waitFor(echo.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "finished",
      result: "still here",
    });
    expect(worker.running).toBe(true);
    expect(await queue.counts()).toMatchObject({ queued: 0, started: 0, failed: 3, finished: 1 });
  });

  test("takes jobs from its queues in priority order", async ({ workers }) => {
    const prefix = freshPrefix();
    const low = new Queue("low", { redis, prefix });
    const high = new Queue("high", { redis, prefix });
    // all waiting before the worker starts, low ones first
    const lows = await low.enqueueMany([0, 1, 2].map((i) => ({ task: "record", args: { tag: `low-${i}` } })));
    const highs = await high.enqueueMany([0, 1, 2].map((i) => ({ task: "record", args: { tag: `high-${i}` } })));
    await workers.start({ redis, redisUrl, prefix, queues: ["high", "low"], flags: ["--concurrency", "1"] });
    const done = [
      ...(await Promise.all(highs.map((j) => high.waitFor(j.id, { timeoutMs: 10_000 })))),
      ...(await Promise.all(lows.map((j) => low.waitFor(j.id, { timeoutMs: 10_000 })))),
    ];
    expect(done.every((j) => j.status === "finished")).toBe(true);
    const byRunTime = [...done].sort((a, b) => {
      const [x, y] = [BigInt((a.result as { at: string }).at), BigInt((b.result as { at: string }).at)];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    expect(byRunTime.map((j) => (j.result as { tag: string }).tag)).toEqual([
      "high-0",
      "high-1",
      "high-2",
      "low-0",
      "low-1",
      "low-2",
    ]);
    const lastHighStart = Math.max(...done.filter((j) => j.queue === "high").map((j) => j.startedAt!));
    const firstLowStart = Math.min(...done.filter((j) => j.queue === "low").map((j) => j.startedAt!));
    expect(lastHighStart).toBeLessThanOrEqual(firstLowStart);
  });

  test("runs --concurrency jobs at once", async ({ workers }) => {
    const prefix = freshPrefix();
    await workers.start({ redis, redisUrl, prefix, flags: ["--concurrency", "3"] });
    const queue = new Queue("default", { redis, prefix });
    const jobs = await queue.enqueueMany([0, 1, 2].map(() => ({ task: "sleep", args: { ms: 1000 } })));
    const done = await Promise.all(jobs.map((j) => queue.waitFor(j.id, { timeoutMs: 10_000 })));
    expect(done.map((j) => j.status)).toEqual(["finished", "finished", "finished"]);
    const lastStart = Math.max(...done.map((j) => j.startedAt!));
    const firstEnd = Math.min(...done.map((j) => j.endedAt!));
    expect(lastStart).toBeLessThan(firstEnd);
  });

  test("--isolation inline runs tasks in the worker's own process", async ({ workers }) => {
    const prefix = freshPrefix();
    const worker = await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
    const queue = new Queue("default", { redis, prefix });
    const [echo, pid] = await queue.enqueueMany([{ task: "echo", args: { inline: true } }, { task: "pid" }]);
    expect(await queue.waitFor(echo!.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "finished",
      result: { inline: true },
    });
    expect(await queue.waitFor(pid!.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "finished",
      result: { pid: worker.pid },
    });
  });

  test("its entry counts each job in the same call that ends it, as numbers", async ({ workers }) => {
    const prefix = freshPrefix();
    // no heartbeat during the test: what the entry shows was written by the reports themselves
    const env = { EDGEQ_HEARTBEAT_MS: "600000" };
    const worker = await workers.start({ redis, redisUrl, prefix, flags: ["--concurrency", "3"], env });
    const queue = new Queue("default", { redis, prefix });
    const entry = async () => (await queue.info()).workers.find((w) => w.name === worker.name);
    expect(await entry()).toMatchObject({ state: "idle", processed: 0, failed: 0, concurrency: 3, currentJobs: [] });

    const [a, b, bad] = await queue.enqueueMany([{ task: "echo" }, { task: "echo" }, { task: "throwHere" }]);
    for (const job of [a!, b!, bad!]) await queue.waitFor(job.id, { timeoutMs: 10_000 });
    expect(await entry()).toMatchObject({ state: "idle", processed: 2, failed: 1, concurrency: 3, currentJobs: [] });
  });

  test("--horse-max-jobs K lets a horse serve K jobs before it is replaced", async ({ workers }) => {
    const prefix = freshPrefix();
    const worker = await workers.start({ redis, redisUrl, prefix, flags: ["--horse-max-jobs", "5"] });
    const queue = new Queue("default", { redis, prefix });
    const jobs = await queue.enqueueMany(Array.from({ length: 10 }, () => ({ task: "pid" })));
    const done = await Promise.all(jobs.map((j) => queue.waitFor(j.id, { timeoutMs: 10_000 })));
    const pids = done.map((j) => (j.result as { pid: number }).pid);
    // one slot, so the jobs run in order: five in one horse, five in the next
    expect(new Set(pids.slice(0, 5)).size).toBe(1);
    expect(new Set(pids.slice(5)).size).toBe(1);
    expect(pids[0]).not.toBe(pids[5]);
    expect(pids).not.toContain(worker.pid);
  });

  test("a spare horse killed while it waits is never handed a job", async ({ workers }) => {
    const prefix = freshPrefix();
    const worker = await workers.start({ redis, redisUrl, prefix });
    const queue = new Queue("default", { redis, prefix });
    // one slot, one spare horse booted ahead of time (the one that proved the tasks load retires)
    const spare = await until("a single spare horse", 10_000, () => {
      const horses = horsesOf(worker);
      return horses.length === 1 ? horses[0] : undefined;
    });
    process.kill(spare, "SIGKILL");
    await until(`horse ${spare} to exit`, 5_000, () => !isAlive(spare));
    const enqueued = await queue.enqueue("pid");
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job, JSON.stringify(job.error)).toMatchObject({ status: "finished", attempts: 1 });
    expect((job.result as { pid: number }).pid).not.toBe(spare);
  });

  test("a task module that cannot load stops the worker before it claims anything", async ({ workers }) => {
    const prefix = freshPrefix();
    const queue = new Queue("default", { redis, prefix });
    const waiting = await queue.enqueue("echo", "never run");
    const worker = await workers.start({
      redis,
      redisUrl,
      prefix,
      tasks: "test/fixtures/broken-tasks.ts",
      noWait: true,
    });
    expect(await worker.waitExit(15_000)).toEqual({ code: 1, signal: null });
    expect(await queue.getJob(waiting.id)).toMatchObject({ status: "queued", attempts: 0 });
    expect((await queue.info()).workers).toEqual([]);
  });

  test("an idle worker waits in Redis and sends next to no commands", async ({ workers }) => {
    // a server of its own, so that its command counters are the worker's alone
    const server: RedisServer = await startRedisServer();
    const client = new Redis(server.url);
    try {
      const prefix = freshPrefix();
      const worker = await workers.start({
        redis: client,
        redisUrl: server.url,
        prefix,
        env: { EDGEQ_HEARTBEAT_MS: "60000", EDGEQ_MAINTENANCE_MS: "60000" },
      });
      await until("the worker to block on its wake list", 10_000, async () => {
        const clients = (await client.client("LIST")) as string;
        return clients
          .split("\n")
          .some((line) => line.includes(`name=edgeq:${worker.name}:wait `) && /flags=\S*b/.test(line));
      });
      const before = await commandCalls(client);
      // the measurement window itself, not a wait for something to happen
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const after = await commandCalls(client);
      const sent = Object.entries(after)
        .map(([command, calls]) => [command, calls - (before[command] ?? 0)] as const)
        .filter(([, calls]) => calls > 0);
      expect(
        sent.reduce((sum, [, calls]) => sum + calls, 0),
        JSON.stringify(sent),
      ).toBeLessThanOrEqual(2);
      // and it still wakes up for work
      const queue = new Queue("default", { redis: client, prefix });
      const job = await queue.enqueue("echo", "awake");
      expect(await queue.waitFor(job.id, { timeoutMs: 10_000 })).toMatchObject({ status: "finished", result: "awake" });
    } finally {
      await workers.killAll();
      await client.quit();
      await server.destroy();
    }
  });
});

/** Calls per command on the server, leaving out the test's own INFO and CLIENT calls. */
async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const info = await client.info("commandstats");
  const calls: Record<string, number> = {};
  for (const [, command, n] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (command !== "info" && !command!.startsWith("client")) calls[command!] = Number(n);
  }
  return calls;
}
