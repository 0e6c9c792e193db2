// Real worker processes (worker-node/main.ts) started one a test, with the
// flags and settings that test is about: stop requests over pub/sub, timeouts,
// queue priority, --concurrency, --isolation inline, --horse-max-jobs, spare
// horses, a task module that cannot load, and how little an idle worker sends.
import { availableParallelism } from "node:os";
import { Redis } from "ioredis";
import { describe, expect, inject } from "vitest";
import { Queue } from "../shared/index.ts";
import { connectForFile, redis } from "./support/connection.ts";
import { prefixesFor } from "./support/prefixes.ts";
import { commandCalls, startRedisServer, type RedisServer } from "./support/redis.ts";
import { horsesOf, isAlive, pidFiles, pidFrom, test, until } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const freshPrefix = prefixesFor("worker-own");
connectForFile();
const pidFile = pidFiles();

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

  test("spare horses killed while they wait are never handed a job", async ({ workers }) => {
    const prefix = freshPrefix();
    const worker = await workers.start({ redis, redisUrl, prefix });
    const queue = new Queue("default", { redis, prefix });
    // one slot, and a horse per job: a spare booted ahead of time for each core (pool.ts)
    const spares = await until("the spare horses", 10_000, () => {
      const horses = horsesOf(worker);
      return horses.length === Math.max(1, availableParallelism()) ? horses : undefined;
    });
    for (const spare of spares) process.kill(spare, "SIGKILL");
    await until("the spares to exit", 5_000, () => spares.every((spare) => !isAlive(spare)));
    const enqueued = await queue.enqueue("pid");
    const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
    expect(job, JSON.stringify(job.error)).toMatchObject({ status: "finished", attempts: 1 });
    expect(spares).not.toContain((job.result as { pid: number }).pid);
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
