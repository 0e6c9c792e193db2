// Flow control obeyed by real worker processes: claims in turn across groups,
// per-group concurrency and windows, a paused group, and a debounced burst,
// all decided inside the claim and enqueue scripts.
import { describe, expect, inject } from "vitest";
import type { Queue, JobView } from "../shared/index.ts";
import { connectForFile, redis } from "./support/connection.ts";
import { freshQueues } from "./support/prefixes.ts";
import { test } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
connectForFile();

const fresh = freshQueues("flow", () => redis);

const waitAll = (queue: Queue, jobs: JobView[], timeoutMs = 30_000) =>
  Promise.all(jobs.map((j) => queue.waitFor(j.id, { timeoutMs })));

const inGroup = (group: string, count: number, task: string, args: (i: number) => unknown) =>
  Array.from({ length: count }, (_, i) => ({ task, args: args(i), options: { group, id: `${group}-${i}` } }));

/** For each job, how many jobs of the same set were running when it started (itself included). */
function mostAtOnce(jobs: JobView[]): number {
  return Math.max(
    ...jobs.map((job) => jobs.filter((o) => o.startedAt! <= job.startedAt! && o.endedAt! > job.startedAt!).length),
  );
}

describe.concurrent("flow control, obeyed by a fleet", () => {
  test("a group of 500 enqueued first delays two small groups by less than 20 of its jobs", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const record = (tag: string) => () => ({ tag });
    await queue.enqueueMany(inGroup("big", 500, "record", record("big")));
    const small = await queue.enqueueMany([
      ...inGroup("small", 5, "record", record("small")),
      ...inGroup("tiny", 5, "record", record("tiny")),
    ]);
    const flags = ["--concurrency", "2", "--isolation", "inline"];
    await workers.start({ redis, redisUrl, prefix, flags });
    await workers.start({ redis, redisUrl, prefix, flags });
    const done = await waitAll(queue, small);
    const at = (job: JobView) => BigInt((job.result as { at: string }).at);
    const twentieth = await queue.waitFor("big-19", { timeoutMs: 30_000 });
    for (const job of done) expect(at(job) < at(twentieth), job.id).toBe(true);
  });

  test("each group's concurrency holds across two workers", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await queue.configure({ groups: { concurrency: 2 } });
    await queue.configureGroup("solo", { concurrency: 1 });
    const sleep = () => ({ ms: 150 });
    const jobs = await queue.enqueueMany([
      ...inGroup("a", 6, "sleep", sleep),
      ...inGroup("b", 6, "sleep", sleep),
      ...inGroup("solo", 4, "sleep", sleep),
    ]);
    const flags = ["--concurrency", "4", "--isolation", "inline"];
    await workers.start({ redis, redisUrl, prefix, flags });
    await workers.start({ redis, redisUrl, prefix, flags });
    const done = await waitAll(queue, jobs);
    const group = (name: string) => done.filter((j) => j.group === name);
    expect(mostAtOnce(group("a"))).toBeLessThanOrEqual(2);
    expect(mostAtOnce(group("b"))).toBeLessThanOrEqual(2);
    expect(mostAtOnce(group("solo"))).toBe(1);
    // the groups ran beside each other: the fleet was not held to one group's cap
    expect(mostAtOnce(done)).toBeGreaterThan(2);
  });

  test("each group's window holds: at most max starts of a group in any window of perMs", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await queue.configure({ groups: { limit: { max: 2, perMs: 1_000 } } });
    const jobs = await queue.enqueueMany([...inGroup("a", 5, "echo", (i) => i), ...inGroup("b", 5, "echo", (i) => i)]);
    await workers.start({ redis, redisUrl, prefix, flags: ["--concurrency", "4", "--isolation", "inline"] });
    const done = await waitAll(queue, jobs);
    for (const name of ["a", "b"]) {
      const starts = done
        .filter((j) => j.group === name)
        .map((j) => j.startedAt!)
        .sort((x, y) => x - y);
      for (let i = 0; i + 2 < starts.length; i++) expect(starts[i + 2]! - starts[i]!).toBeGreaterThanOrEqual(1_000);
    }
  });

  test("a paused group waits while the queue's other groups run, and runs once resumed", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await queue.configureGroup("held", { paused: true });
    const held = await queue.enqueueMany(inGroup("held", 3, "echo", (i) => i));
    const runs = await queue.enqueueMany(inGroup("runs", 3, "echo", (i) => i));
    await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
    expect((await waitAll(queue, runs)).map((j) => j.status)).toEqual(["finished", "finished", "finished"]);
    expect((await queue.getJob(held[0]!.id))!.status).toBe("queued");
    const listed = await queue.groups();
    expect(listed.groups.find((g) => g.name === "held")).toMatchObject({ waiting: 3, policy: { paused: true } });
    await queue.configureGroup("held", { paused: null });
    expect((await waitAll(queue, held)).map((j) => j.status)).toEqual(["finished", "finished", "finished"]);
  });

  test("a burst of 20 debounced calls runs once, with the last call's args", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
    const debounce = { key: "doc-7", delayMs: 300 };
    const calls = [];
    for (let v = 1; v <= 20; v++)
      calls.push(await queue.submit([{ task: "echo", args: { v }, options: { debounce } }]));
    const ids = new Set(calls.map(([s]) => s!.job.id));
    expect(ids.size).toBe(1);
    expect(calls.filter(([s]) => s!.debounced)).toHaveLength(19);
    const job = await queue.waitFor([...ids][0]!, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "finished", result: { v: 20 }, attempts: 1 });
    expect((await queue.counts()).finished).toBe(1);
  });
});
