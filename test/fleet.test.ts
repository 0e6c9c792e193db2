// Queue settings obeyed by real workers: priorities, pause, a rate window, a
// fleet-wide concurrency cap and retention by count held by several workers
// at once, all decided inside the claim and ending scripts.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { Queue, type JobView } from "../shared/index.ts";
import { freshQueues } from "./support/prefixes.ts";
import { test, until } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  await redis.quit();
});

const fresh = freshQueues("fleet", () => redis);

const waitAll = (queue: Queue, jobs: JobView[]) =>
  Promise.all(jobs.map((j) => queue.waitFor(j.id, { timeoutMs: 20_000 })));

describe.concurrent("queue settings, obeyed by a fleet", () => {
  test("a worker takes jobs by priority, FIFO within one, jobs without a priority first", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const jobs = await queue.enqueueMany([
      { task: "record", args: { tag: "p5-a" }, options: { priority: 5 } },
      { task: "record", args: { tag: "p1-a" }, options: { priority: 1 } },
      { task: "record", args: { tag: "none" } },
      { task: "record", args: { tag: "p5-b" }, options: { priority: 5 } },
      { task: "record", args: { tag: "p1-b" }, options: { priority: 1 } },
    ]);
    await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
    const done = await waitAll(queue, jobs);
    const order = [...done].sort((a, b) =>
      Number(BigInt((a.result as { at: string }).at) - BigInt((b.result as { at: string }).at)),
    );
    expect(order.map((j) => (j.result as { tag: string }).tag)).toEqual(["none", "p1-a", "p1-b", "p5-a", "p5-b"]);
  });

  test("no worker claims from a paused queue; it takes jobs, and resuming lets them run", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const other = new Queue("other", { redis, prefix });
    await queue.pause();
    const held = await queue.enqueue("echo", "held");
    await workers.start({ redis, redisUrl, prefix, queues: ["default", "other"] });
    // the worker is claiming: a job of its other queue runs while the paused one waits
    expect(await other.waitFor((await other.enqueue("echo", "runs")).id, { timeoutMs: 10_000 })).toMatchObject({
      status: "finished",
    });
    expect(await queue.getJob(held.id)).toMatchObject({ status: "queued" });
    expect(await queue.info()).toMatchObject({ paused: true });
    await queue.resume();
    expect(await queue.waitFor(held.id, { timeoutMs: 10_000 })).toMatchObject({ status: "finished", result: "held" });
  });

  test("two workers keep a rate window: at most max starts in any window of perMs", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await queue.configure({ limit: { max: 3, perMs: 1_000 } });
    const jobs = await queue.enqueueMany(Array.from({ length: 9 }, () => ({ task: "echo", args: 1 })));
    const flags = ["--concurrency", "4", "--isolation", "inline"];
    await workers.start({ redis, redisUrl, prefix, flags });
    await workers.start({ redis, redisUrl, prefix, flags });
    const starts = (await waitAll(queue, jobs)).map((j) => j.startedAt!).sort((a, b) => a - b);
    for (let i = 0; i + 3 < starts.length; i++) expect(starts[i + 3]! - starts[i]!).toBeGreaterThanOrEqual(1_000);
  });

  test("two workers keep a fleet-wide concurrency cap", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await queue.configure({ concurrency: 2 });
    const jobs = await queue.enqueueMany(Array.from({ length: 6 }, () => ({ task: "sleep", args: { ms: 300 } })));
    const flags = ["--concurrency", "3"];
    await workers.start({ redis, redisUrl, prefix, flags });
    await workers.start({ redis, redisUrl, prefix, flags });
    const done = await waitAll(queue, jobs);
    expect(done.every((j) => j.status === "finished")).toBe(true);
    // at every start, how many others were running then
    for (const job of done) {
      const overlapping = done.filter((o) => o.startedAt! <= job.startedAt! && o.endedAt! > job.startedAt!);
      expect(overlapping.length, JSON.stringify(done.map((j) => [j.startedAt, j.endedAt]))).toBeLessThanOrEqual(2);
    }
  });

  test("two workers keep a queue's latest N finished and failed jobs, and delete the rest", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await queue.configure({ keep: { finished: 20, failed: 5 } });
    const jobs = await queue.enqueueMany([
      ...Array.from({ length: 120 }, (_, n) => ({ task: "echo", args: n })),
      ...Array.from({ length: 30 }, () => ({ task: "fail", args: {}, options: { retry: { max: 0 } } })),
    ]);
    const flags = ["--concurrency", "4", "--isolation", "inline"];
    await workers.start({ redis, redisUrl, prefix, flags });
    await workers.start({ redis, redisUrl, prefix, flags });
    await until("every job ended", 30_000, async () => {
      const counts = await queue.counts();
      return counts.queued + counts.started === 0 && counts;
    });
    expect(await queue.counts()).toMatchObject({ finished: 20, failed: 5 });
    // the ones kept are whole jobs; every other one is gone, its hash included
    const kept = (await Promise.all(jobs.map((j) => queue.getJob(j.id)))).filter((j) => j !== null);
    expect(kept.filter((j) => j.status === "finished")).toHaveLength(20);
    expect(kept.filter((j) => j.status === "failed")).toHaveLength(5);
    expect(kept).toHaveLength(25);
  });
});
