// Flow control in the scripts, against a real redis-server: claims taking
// turns across a queue's groups, per-group concurrency, windows and pauses,
// the group listing, and the debounce and dedupe keys of enqueue. Claims are
// driven with explicit `now` values instead of sleeps.
import { describe, expect, it } from "vitest";
import { InvalidPolicyError, type Queue, ValidationError } from "../shared/index.ts";
import type { Keys } from "../shared/keys.ts";
import * as scripts from "../shared/scripts/index.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { freshQueues } from "./support/prefixes.ts";
import { until } from "./support/until.ts";

const LEASE = 30_000;

connectForFile();

const fresh = freshQueues("groups", () => redis);

async function claim(keys: Keys, now: number, max = 100, worker = "w1") {
  const step = await scripts.claim.run(runner, keys, {
    now,
    worker,
    next: { leaseMs: LEASE, max, queues: ["default"] },
  });
  return { ids: step.jobs.map((j) => j.id), groups: step.jobs.map((j) => j.group), nextDueAt: step.nextDueAt };
}

async function complete(keys: Keys, id: string, now: number, worker = "w1") {
  const step = await scripts.complete.run(runner, keys, {
    now,
    worker,
    jobs: [{ id, claim: Number(await redis.hget(keys.job(id), "claims")), result: "null" }],
  });
  expect(step.reported[0]!.ok).toBe(true);
}

/** Enqueues `count` jobs into a group, ids `${group}-${i}`. */
async function fill(queue: Queue, group: string | undefined, count: number) {
  await queue.enqueueMany(
    Array.from({ length: count }, (_, i) => ({
      task: "echo",
      args: i,
      options: { id: `${group ?? "none"}-${i}`, ...(group && { group }) },
    })),
  );
}

describe("claiming in turn across groups", () => {
  it("gives a group with one job its turn before a group of 50 enqueued first can take a second", async () => {
    const { queue, keys } = fresh();
    await fill(queue, "big", 50);
    await fill(queue, "small", 1);
    await fill(queue, "tiny", 1);
    const first = await claim(keys, Date.now(), 3);
    expect(first.ids.sort()).toEqual(["big-0", "small-0", "tiny-0"]);
    // within a group, FIFO
    const next = await claim(keys, Date.now(), 3);
    expect(next.ids).toEqual(["big-1", "big-2", "big-3"]);
  });

  it("lets the jobs without a group take a turn as one group of their own, even those enqueued before", async () => {
    const { queue, keys } = fresh();
    await fill(queue, undefined, 5);
    await fill(queue, "a", 5);
    await queue.enqueue("echo", 0, { id: "later" });
    const { groups } = await claim(keys, Date.now(), 4);
    expect(groups.filter((g) => g === null)).toHaveLength(2);
    expect(groups.filter((g) => g === "a")).toHaveLength(2);
    expect((await queue.counts()).queued).toBe(7);
  });

  it("keeps priority and FIFO within a group", async () => {
    const { queue, keys } = fresh();
    await queue.enqueue("echo", 1, { id: "late", group: "g" });
    await queue.enqueue("echo", 2, { id: "urgent", group: "g", priority: 1 });
    await queue.enqueue("echo", 3, { id: "first", group: "g", atFront: true });
    expect((await claim(keys, Date.now(), 3)).ids).toEqual(["first", "late", "urgent"]);
  });

  it("costs a queue that uses no groups no group keys at all", async () => {
    const { prefix, queue, keys } = fresh();
    await fill(queue, undefined, 3);
    const { ids } = await claim(keys, Date.now(), 2);
    await complete(keys, ids[0]!, Date.now());
    const names = await redis.keys(`{${prefix}}:*group*`);
    expect(names).toEqual([]);
    expect((await queue.info()).counts).toMatchObject({ queued: 1, started: 1, finished: 1 });
  });
});

describe("per-group limits", () => {
  it("starts at most the default concurrency of each group, and a group's next once one of its jobs ends", async () => {
    const { queue, keys } = fresh();
    await queue.configure({ groups: { concurrency: 2 } });
    await fill(queue, "a", 5);
    await fill(queue, "b", 5);
    const now = Date.now();
    const first = await claim(keys, now, 10);
    expect(first.ids.sort()).toEqual(["a-0", "a-1", "b-0", "b-1"]);
    expect((await claim(keys, now, 10)).ids).toEqual([]);
    await complete(keys, "a-0", now + 1);
    expect((await claim(keys, now + 2, 10)).ids).toEqual(["a-2"]);
  });

  it("holds a group's window and sleeps the worker until the earliest one opens", async () => {
    const { queue, keys } = fresh();
    await queue.configure({ groups: { limit: { max: 2, perMs: 1000 } } });
    await fill(queue, "a", 5);
    await fill(queue, "b", 5);
    const now = Date.now();
    expect((await claim(keys, now, 10)).ids).toHaveLength(4);
    const blocked = await claim(keys, now + 10, 10);
    expect(blocked.ids).toEqual([]);
    expect(blocked.nextDueAt).toBe(now + 1000);
    const opened = await claim(keys, now + 1000, 10);
    expect(opened.ids.sort()).toEqual(["a-2", "a-3", "b-2", "b-3"]);
  });

  it("lets a group's own policy override the default, and the queue's own limits hold on top", async () => {
    const { queue, keys } = fresh();
    await queue.configure({ concurrency: 3, groups: { concurrency: 1 } });
    const view = await queue.configureGroup("vip", { concurrency: 5 });
    expect(view).toEqual({ group: "vip", policy: { concurrency: 5 }, effective: { concurrency: 5 } });
    await fill(queue, "vip", 6);
    await fill(queue, "free", 6);
    const { groups } = await claim(keys, Date.now(), 10);
    expect(groups.sort()).toEqual(["free", "vip", "vip"]);
  });

  it("pauses one group while the others go on, and gives it its turn again on resume", async () => {
    const { queue, keys } = fresh();
    await fill(queue, "a", 3);
    await fill(queue, "b", 3);
    await queue.configureGroup("b", { paused: true });
    const now = Date.now();
    expect((await claim(keys, now, 10)).groups).toEqual(["a", "a", "a"]);
    expect((await queue.configureGroup("b", { paused: null })).policy).toEqual({});
    expect((await claim(keys, now, 10)).ids).toEqual(["b-0", "b-1", "b-2"]);
  });

  it("refuses limits out of range with 422 naming them, and malformed ones with 400, writing nothing", async () => {
    const { prefix, queue } = fresh();
    const invalid = await queue.configureGroup("g", { concurrency: 0 }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(InvalidPolicyError);
    expect((invalid as InvalidPolicyError).status).toBe(422);
    expect((invalid as InvalidPolicyError).issues[0]!.field).toBe("concurrency");
    const window = await queue.configure({ groups: { limit: { max: 1, perMs: 2 * 86_400_000 } } }).catch((e) => e);
    expect((window as InvalidPolicyError).issues[0]!.field).toBe("groups.limit.perMs");
    const malformed = await queue.configureGroup("g", { concurrency: "two" as never }).catch((e: unknown) => e);
    expect(malformed).toBeInstanceOf(ValidationError);
    const badName = await queue.configureGroup("no spaces", { paused: true }).catch((e: unknown) => e);
    expect((badName as ValidationError).issues[0]!.field).toBe("group");
    const badGroup = await queue.enqueue("echo", 1, { group: "a/b" }).catch((e: unknown) => e);
    expect((badGroup as ValidationError).issues[0]!.field).toBe("options.group");
    expect(await redis.keys(`{${prefix}}:*`)).toEqual([]);
  });
});

describe("seeing groups", () => {
  it("lists groups most loaded first with their counts and policies, in pages", async () => {
    const { queue, keys } = fresh();
    await queue.configure({ groups: { concurrency: 4 } });
    await fill(queue, "a", 1);
    await fill(queue, "b", 3);
    await fill(queue, "c", 2);
    await fill(queue, undefined, 2);
    await queue.configureGroup("idle", { paused: true });
    await claim(keys, Date.now(), 4);
    const first = await queue.groups({ limit: 2 });
    expect(first.groups.map((g) => [g.name, g.waiting, g.started])).toEqual([
      ["b", 2, 1],
      ["c", 1, 1],
    ]);
    expect(first.groups[0]!.effective).toEqual({ concurrency: 4 });
    expect(first.total).toBe(4);
    expect(first.ungrouped).toEqual({ waiting: 1, started: 1 });
    expect(first.default).toEqual({ concurrency: 4 });
    const second = await queue.groups({ limit: 2, cursor: first.nextCursor });
    expect(second.groups.map((g) => [g.name, g.waiting + g.started])).toEqual([
      ["a", 1],
      ["idle", 0],
    ]);
    expect(second.groups[1]!.policy).toEqual({ paused: true });
    expect(second.nextCursor).toBe("4");
    expect((await queue.groups({ cursor: second.nextCursor })).groups).toEqual([]);
    expect((await queue.getJob("b-0"))!.group).toBe("b");
  });

  it("counts, lists in claim order, cancels and empties grouped jobs with the others", async () => {
    const { queue, keys } = fresh();
    await queue.enqueue("echo", 0, { id: "x" });
    await fill(queue, "g", 3);
    await queue.enqueue("echo", 0, { id: "y" });
    const page1 = await queue.list("queued", { limit: 3 });
    expect(page1.jobs.map((j) => j.id)).toEqual(["x", "g-0", "g-1"]);
    const page2 = await queue.list("queued", { limit: 3, cursor: page1.nextCursor });
    expect(page2.jobs.map((j) => j.id)).toEqual(["g-2", "y"]);
    expect((await queue.cancel("g-1")).status).toBe("canceled");
    expect((await queue.counts()).queued).toBe(4);
    expect((await queue.groups()).groups.map((g) => [g.name, g.waiting])).toEqual([["g", 2]]);
    expect(await queue.empty()).toEqual({ count: 4, more: false });
    expect((await queue.counts()).queued).toBe(0);
    expect((await queue.groups()).groups).toEqual([]);
    expect((await claim(keys, Date.now())).ids).toEqual([]);
  });

  it("keeps a group's counts through a retry and a requeue", async () => {
    const { queue, keys } = fresh();
    await queue.enqueue("echo", 0, { id: "r", group: "g", retry: { max: 1 } });
    const now = Date.now();
    await claim(keys, now);
    const failed = await scripts.fail.run(runner, keys, {
      now: now + 1,
      worker: "w1",
      jobs: [{ id: "r", claim: 1, error: { name: "Error", message: "boom" }, retryable: true }],
    });
    expect(failed.reported[0]!.status).toBe("queued");
    expect((await queue.groups()).groups.map((g) => [g.name, g.waiting, g.started])).toEqual([["g", 1, 0]]);
    expect((await claim(keys, now + 2)).ids).toEqual(["r"]);
    await scripts.fail.run(runner, keys, {
      now: now + 3,
      worker: "w1",
      jobs: [{ id: "r", claim: 2, error: { name: "Error", message: "boom" }, retryable: true }],
    });
    expect((await queue.getJob("r"))!.status).toBe("failed");
    expect((await queue.groups()).groups).toEqual([]);
    await queue.requeue("r");
    expect((await claim(keys, now + 4)).groups).toEqual(["g"]);
  });
});

describe("debounce and dedupe", () => {
  it("gathers a burst of calls into one waiting job with the last args, its start moved after the latest", async () => {
    const { queue } = fresh();
    const debounce = { key: "doc-1", delayMs: 60_000 };
    const first = await queue.submit([{ task: "save", args: { v: 0 }, options: { debounce, meta: { n: 0 } } }]);
    expect(first[0]!.created).toBe(true);
    expect(first[0]!.job.status).toBe("scheduled");
    let last = first;
    for (let v = 1; v <= 5; v++) {
      last = await queue.submit([{ task: "save", args: { v }, options: { debounce, meta: { n: v } } }]);
      expect(last[0]).toMatchObject({ created: false, debounced: true, job: { id: first[0]!.job.id } });
    }
    const job = (await queue.getJob(first[0]!.job.id))!;
    expect(job.args).toEqual({ v: 5 });
    expect(job.meta).toEqual({ n: 5 });
    expect((await queue.counts()).scheduled).toBe(1);
  });

  it("moves a debounced job that already waits in the queue back to its schedule, bounded by maxDelayMs", async () => {
    const { queue } = fresh();
    const made = await queue.enqueue("save", 0, { debounce: { key: "k", delayMs: 0, maxDelayMs: 3_600_000 } });
    expect(made.status).toBe("queued");
    const again = await queue.submit([
      { task: "save", args: 1, options: { debounce: { key: "k", delayMs: 10_000, maxDelayMs: 3_600_000 } } },
    ]);
    expect(again[0]!.debounced).toBe(true);
    const job = (await queue.getJob(made.id))!;
    expect(job.status).toBe("scheduled");
    expect(job.args).toBe(1);
    // a bound already reached: the start stays where it is
    const capped = await queue.enqueue("save", 0, { debounce: { key: "c", delayMs: 0, maxDelayMs: 0 } });
    await queue.enqueue("save", 2, { debounce: { key: "c", delayMs: 50_000, maxDelayMs: 0 } });
    expect(await queue.getJob(capped.id)).toMatchObject({ status: "queued", args: 2 });
  });

  it("makes a new job once the debounced one has started", async () => {
    const { queue, keys } = fresh();
    const first = await queue.enqueue("save", 0, { debounce: { key: "k", delayMs: 0 } });
    expect((await claim(keys, Date.now())).ids).toEqual([first.id]);
    const second = await queue.submit([{ task: "save", args: 1, options: { debounce: { key: "k", delayMs: 0 } } }]);
    expect(second[0]!.created).toBe(true);
    expect(second[0]!.job.id).not.toBe(first.id);
  });

  it("answers the first job for a dedupe key within its window, whatever its status, and a new one after", async () => {
    const { queue, keys } = fresh();
    const first = await queue.enqueue("sync", 0, { dedupe: { key: "repo-9", ttlMs: 300 } });
    await claim(keys, Date.now());
    await complete(keys, first.id, Date.now());
    const again = await queue.submit([{ task: "sync", args: 1, options: { dedupe: { key: "repo-9", ttlMs: 300 } } }]);
    expect(again[0]).toMatchObject({ created: false, deduplicated: true, job: { id: first.id, status: "finished" } });
    await until(
      "the dedupe window to pass",
      5_000,
      async () => (await redis.exists(keys.dedupe("default", "repo-9"))) === 0,
    );
    const later = await queue.submit([{ task: "sync", args: 2, options: { dedupe: { key: "repo-9", ttlMs: 300 } } }]);
    expect(later[0]!.created).toBe(true);
  });

  it("refuses a debounce with its own start or id, and with dedupe, naming the field", async () => {
    const { prefix, queue } = fresh();
    const refused = async (options: object) =>
      ((await queue.enqueue("save", 0, options).catch((e: unknown) => e)) as ValidationError).issues.map(
        (i) => i.field,
      );
    expect(await refused({ debounce: { key: "k", delayMs: 1 }, delayMs: 5 })).toEqual(["options.debounce"]);
    expect(await refused({ debounce: { key: "k", delayMs: 1 }, id: "mine" })).toEqual(["options.debounce"]);
    expect(await refused({ debounce: { key: "k", delayMs: 1 }, dedupe: { key: "k", ttlMs: 1 } })).toEqual([
      "options.dedupe",
    ]);
    expect(await refused({ dedupe: { key: "a b", ttlMs: 1 } })).toEqual(["options.dedupe.key"]);
    expect(await redis.keys(`{${prefix}}:*`)).toEqual([]);
  });
});
