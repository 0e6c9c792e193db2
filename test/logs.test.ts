// Job logs (ctx.log, ctx.logger) against a real Redis and real workers: lines
// from a horse and inline, in order, bounded by count and bytes with the drop
// counted, tagged with their attempt, fenced by the worker's hold on the job,
// read a page at a time, and gone with their job. `edgeq admin logs --follow`
// prints them as they come and exits when the job ends.
import { spawn } from "node:child_process";
import { describe, expect, inject } from "vitest";
import { DEFAULTS } from "../shared/index.ts";
import * as scripts from "../shared/scripts/index.ts";
import { adminRunners } from "./support/admin.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { freshQueues } from "./support/prefixes.ts";
import { test, until } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
connectForFile();
const fresh = freshQueues("logs", () => redis);
const INLINE = ["--isolation", "inline"];

describe("a job's log", () => {
  for (const [isolation, flags] of [
    ["a horse", []],
    ["inline", INLINE],
  ] as const) {
    test(`keeps the lines of a task in ${isolation}, in order, each with its time, attempt and level`, async ({
      workers,
    }) => {
      const { prefix, queue } = fresh();
      await workers.start({ redis, redisUrl, prefix, flags: [...flags] });
      const job = await queue.enqueue("chatty", { lines: 5 });
      expect((await queue.waitFor(job.id, { timeoutMs: 20_000 })).status).toBe("finished");
      const log = (await queue.logs(job.id))!;
      expect(log).toMatchObject({ total: 6, dropped: 0, nextOffset: 6 });
      expect(log.lines.map((l) => [l.n, l.text, l.attempt, l.level])).toEqual([
        [0, "line 1 of attempt 1", 1, undefined],
        [1, "line 2 of attempt 1", 1, undefined],
        [2, "line 3 of attempt 1", 1, undefined],
        [3, "line 4 of attempt 1", 1, undefined],
        [4, "line 5 of attempt 1", 1, undefined],
        // ctx.logger writes through, its fields after its message, as console.log shows them
        [5, "warned { attempts: 1 }", 1, "warn"],
      ]);
      const times = log.lines.map((l) => l.at);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times[0]).toBeGreaterThanOrEqual(job.createdAt);
    });
  }

  test("keeps the latest 1,000 lines and counts the ones it dropped; pages number lines from the first", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: INLINE });
    const job = await queue.enqueue("chatty", { lines: 1_200 });
    await queue.waitFor(job.id, { timeoutMs: 20_000 });
    const all = (await queue.logs(job.id, { limit: DEFAULTS.maxLogPage }))!;
    expect(all).toMatchObject({ total: 1_201, dropped: 201, nextOffset: 1_201 });
    expect(all.lines).toHaveLength(1_000);
    expect(all.lines[0]).toMatchObject({ n: 201, text: "line 202 of attempt 1" });
    expect(all.lines.at(-1)).toMatchObject({ n: 1_200, level: "warn" });
    // an offset among the dropped lines starts at the oldest kept; a page ends at its limit
    const page = (await queue.logs(job.id, { offset: 10, limit: 3 }))!;
    expect(page.lines.map((l) => l.n)).toEqual([201, 202, 203]);
    expect(page.nextOffset).toBe(204);
    const next = (await queue.logs(job.id, { offset: page.nextOffset, limit: 2 }))!;
    expect(next.lines.map((l) => l.text)).toEqual(["line 205 of attempt 1", "line 206 of attempt 1"]);
    // past the end: nothing, and the offset to ask again from
    expect(await queue.logs(job.id, { offset: 5_000 })).toMatchObject({ lines: [], nextOffset: 1_201 });
    await expect(queue.logs(job.id, { limit: DEFAULTS.maxLogPage + 1 })).rejects.toThrow(/limit/);
    await expect(queue.logs(job.id, { offset: -1 })).rejects.toThrow(/offset/);
    expect(await queue.logs("no-such-job")).toBeNull();
  });

  test("keeps 256 KiB at most, and cuts a line longer than 16 KiB", async ({ workers }) => {
    const { prefix, queue, keys } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: INLINE });
    const many = await queue.enqueue("chatty", { lines: 40, bytes: 10_000 });
    const long = await queue.enqueue("chatty", { lines: 1, bytes: 40_000 });
    await queue.waitFor(many.id, { timeoutMs: 20_000 });
    await queue.waitFor(long.id, { timeoutMs: 20_000 });
    const log = (await queue.logs(many.id, { limit: 1_000 }))!;
    const stored = await redis.lrange(keys.logs(many.id), 0, -1);
    const bytes = stored.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
    expect(bytes).toBeLessThanOrEqual(DEFAULTS.maxLogBytes);
    expect(bytes).toBeGreaterThan(DEFAULTS.maxLogBytes - 11_000);
    expect(Number(await redis.hget(keys.job(many.id), "logBytes"))).toBe(bytes);
    expect(log.total).toBe(41);
    expect(log.dropped).toBe(41 - stored.length);
    expect(log.lines.at(-1)!.level).toBe("warn");
    const [cut] = (await queue.logs(long.id))!.lines;
    expect(Buffer.byteLength(cut!.text)).toBeLessThanOrEqual(DEFAULTS.maxLogLineBytes);
    expect(cut!.text).toMatch(/^line 1 of attempt 1 x+… \(\d+ bytes cut\)$/);
  });

  test("tags each line with its attempt: a retried job shows both", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix });
    const job = await queue.enqueue("chatty", { lines: 2, failUntil: 2 }, { retry: { max: 1 } });
    expect((await queue.waitFor(job.id, { timeoutMs: 20_000 })).status).toBe("finished");
    const { lines } = (await queue.logs(job.id))!;
    expect(lines.map((l) => `${l.attempt}: ${l.text}`)).toEqual([
      "1: line 1 of attempt 1",
      "1: line 2 of attempt 1",
      "1: warned { attempts: 1 }",
      "2: line 1 of attempt 2",
      "2: line 2 of attempt 2",
      "2: warned { attempts: 2 }",
    ]);
  });

  test("keeps the lines written before a task suspends (ctx.sleep), and those of its run after", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix });
    const job = await queue.enqueue("chatty", { lines: 1, napMs: 50 });
    expect((await queue.waitFor(job.id, { timeoutMs: 20_000 })).status).toBe("finished");
    const { lines } = (await queue.logs(job.id))!;
    // the task runs again from the top after its sleep: a resumption is not an attempt
    expect(lines.map((l) => `${l.attempt}: ${l.text}`)).toEqual([
      "1: line 1 of attempt 1",
      "1: line 1 of attempt 1",
      "1: warned { attempts: 1 }",
    ]);
  });

  test("expires with its job, goes when the job is cleaned, and a job that logs nothing has none", async ({
    workers,
  }) => {
    const { prefix, queue, keys } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: INLINE });
    const chatty = await queue.enqueue("chatty", { lines: 1 });
    const plain = await queue.enqueue("echo", 1);
    await queue.waitFor(chatty.id, { timeoutMs: 20_000 });
    await queue.waitFor(plain.id, { timeoutMs: 20_000 });
    const ttl = await redis.pttl(keys.logs(chatty.id));
    expect(ttl).toBeGreaterThan(0);
    expect(Math.abs(ttl - (await redis.pttl(keys.job(chatty.id))))).toBeLessThan(1_000);
    expect(await redis.exists(keys.logs(plain.id))).toBe(0);
    expect(await redis.hmget(keys.job(plain.id), "logs", "logBytes")).toEqual([null, null]);
    expect(await queue.logs(plain.id)).toEqual({ lines: [], total: 0, dropped: 0, nextOffset: 0 });
    expect((await queue.clean("finished", 0)).count).toBe(2);
    expect(await redis.exists(keys.logs(chatty.id))).toBe(0);
    expect(await queue.logs(chatty.id)).toBeNull();
  });
});

describe("writing log lines", () => {
  test("only for the worker that holds the job, published on its channel as the count written", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("echo", 1);
    const line = (text: string) => JSON.stringify({ at: 1, attempt: 1, text });
    const write = (worker: string, logs: string[], logsDropped = 0) =>
      scripts.progress.run(runner, keys, { id: job.id, worker, claim: 1, update: { logs, logsDropped } });
    expect(await write("w1", [line("early")])).toEqual({ ok: false });
    const next = { leaseMs: 30_000, max: 1, queues: ["default"] };
    await scripts.claim.run(runner, keys, { now: Date.now(), worker: "w1", next });
    expect(await write("w2", [line("stranger")])).toEqual({ ok: false });
    const subscriber = redis.duplicate();
    const messages: string[] = [];
    subscriber.on("message", (_channel, message) => messages.push(message));
    await subscriber.subscribe(keys.events(job.id));
    try {
      expect(await write("w1", [line("a"), line("b")], 3)).toEqual({ ok: true });
      await until("the log message", 5_000, () => messages.length > 0);
      expect(messages).toEqual(['{"log":5}']);
    } finally {
      subscriber.disconnect();
    }
    // the 3 the worker dropped are counted before the 2 it wrote
    expect(await queue.logs(job.id)).toMatchObject({
      total: 5,
      dropped: 3,
      lines: [
        { n: 3, text: "a" },
        { n: 4, text: "b" },
      ],
    });
  });
});

describe("edgeq admin logs", () => {
  test("prints a job's lines; --follow prints them as they come and exits when the job ends", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const job = await queue.enqueue("chatty", { lines: 3 });
    const follow = spawn(
      process.execPath,
      ["--import", "tsx", "worker-node/cli/edgeq.ts", "admin", "logs", job.id, "--follow"],
      { env: { ...process.env, REDIS_URL: redisUrl, EDGEQ_PREFIX: prefix }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    follow.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    follow.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follow.once("exit", resolve));
    // the follower waits on the job's channel before the job has run at all
    await until("the follower to subscribe", 15_000, async () => {
      const [, count] = (await redis.pubsub("NUMSUB", queue.keys.events(job.id))) as [string, number];
      return count > 0;
    });
    await workers.start({ redis, redisUrl, prefix });
    expect(await exited).toBe(0);
    const printed = out.trimEnd().split("\n");
    expect(printed).toHaveLength(4);
    expect(printed[0]).toMatch(/^\S+ #1 {2}line 1 of attempt 1$/);
    expect(printed[3]).toMatch(/^\S+ #1 warn {2}warned \{ attempts: 1 \}$/);
    // without --follow: a page, and where the next one starts
    const page = await adminRunners(prefix).admin(["logs", job.id, "--offset", "1", "--limit", "2"]);
    expect(page.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/ #1 {2}line 2 of attempt 1$/),
      expect.stringMatching(/ #1 {2}line 3 of attempt 1$/),
      `more: edgeq admin logs ${job.id} --offset 3`,
    ]);
  });
});
