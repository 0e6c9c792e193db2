// Durable steps (ctx.step) against a real Redis and real workers: a step runs
// once however often its job is attempted, a worker frozen past its lease
// records nothing, and steps live and die with their job. The record script
// is driven directly too, with the worker names it must check.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import * as scripts from "../shared/scripts/index.ts";
import { main } from "../worker-node/cli/admin/main.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { freshQueues } from "./support/prefixes.ts";
import { pidFrom, test, until } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
let dir: string;
connectForFile();
const fresh = freshQueues("steps", () => redis);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeq-steps-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let seq = 0;
const record = (keys: ReturnType<typeof fresh>["keys"], id: string, worker: string, step: string, result = "1") =>
  scripts.recordStep.run(runner, keys, { id, claim: 1, worker, step, result, startedAt: 1, endedAt: 2 });

describe("recording a step", () => {
  test("only for the worker that holds the job, once per id, at most the job's bound", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("durable", {});
    expect(await record(keys, job.id, "w1", "a")).toEqual({ ok: false, error: "lost" });
    await scripts.claim.run(runner, keys, {
      now: Date.now(),
      worker: "w1",
      next: { leaseMs: 30_000, max: 1, queues: ["default"] },
    });
    expect(await record(keys, job.id, "w2", "a")).toEqual({ ok: false, error: "lost" });
    expect(await record(keys, job.id, "w1", "a", '{"charged":true}')).toEqual({ ok: true, n: 1 });
    expect(await record(keys, job.id, "w1", "a")).toEqual({ ok: false, error: "recorded" });
    const view = (await queue.getJob(job.id))!;
    expect(view.stepCount).toBe(1);
    expect(view.steps).toEqual([{ id: "a", n: 1, startedAt: 1, endedAt: 2, result: { charged: true } }]);
    for (let n = 2; n <= 1000; n++) await record(keys, job.id, "w1", `s${n}`);
    expect(await record(keys, job.id, "w1", "one-too-many")).toEqual({ ok: false, error: "too_many" });
    expect(await redis.hlen(keys.steps(job.id))).toBe(1000);
  });

  test("costs a job that records none no steps key, and a job's steps expire with it", async () => {
    const { queue, keys } = fresh();
    const plain = await queue.enqueue("echo", 1);
    const durable = await queue.enqueue("echo", 2);
    const next = { leaseMs: 30_000, max: 2, queues: ["default"] };
    await scripts.claim.run(runner, keys, { now: Date.now(), worker: "w1", next });
    await record(keys, durable.id, "w1", "a");
    const jobs = [plain, durable].map((j) => ({ id: j.id, claim: 1, result: "null" }));
    await scripts.complete.run(runner, keys, { now: Date.now(), worker: "w1", jobs });
    expect(await redis.exists(keys.steps(plain.id))).toBe(0);
    const ttl = await redis.pttl(keys.steps(durable.id));
    expect(ttl).toBeGreaterThan(0);
    expect(Math.abs(ttl - (await redis.pttl(keys.job(durable.id))))).toBeLessThan(1000);
    expect((await queue.getJob(plain.id))!).toMatchObject({ stepCount: 0 });
    expect((await queue.getJob(plain.id))!.steps).toBeUndefined();
  });
});

describe("a job's steps in the admin CLI", () => {
  test("one line a step: its place, id, when it was recorded and how long it took", async () => {
    const { prefix, queue, keys } = fresh();
    const job = await queue.enqueue("echo", 1);
    const next = { leaseMs: 30_000, max: 1, queues: ["default"] };
    await scripts.claim.run(runner, keys, { now: Date.now(), worker: "w1", next });
    const now = Date.now();
    const call = {
      id: job.id,
      claim: 1,
      worker: "w1",
      step: "charge",
      result: "1",
      startedAt: now - 1_500,
      endedAt: now,
    };
    await scripts.recordStep.run(runner, keys, call);
    const lines: string[] = [];
    const io = { out: (text: string) => lines.push(text), err: () => {}, env: { REDIS_URL: redisUrl } };
    expect(await main(["job", job.id, "--prefix", prefix], io)).toBe(0);
    expect(lines.join("\n")).toMatch(/^step 1\s+charge {2}.+ {2}took 1\.5 ?s$/m);
    lines.length = 0;
    const sent = [
      "event",
      "default",
      "payment.succeeded",
      "--key",
      "o-1",
      "--data",
      '{"amount":1}',
      "--prefix",
      prefix,
    ];
    expect(await main(sent, io)).toBe(0);
    expect(lines).toEqual(['event "payment.succeeded" sent to queue "default": 0 jobs resumed']);
  });
});

describe.concurrent("durable steps in real workers", () => {
  test("a horse killed between the second and the third step: the retry runs each step once", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const log = join(dir, `log-${++seq}`);
    const pidFile = join(dir, `pid-${seq}`);
    await writeFile(log, "");
    await workers.start({ redis, redisUrl, prefix });
    const job = await queue.enqueue("durable", { log, pidFile }, { retry: { max: 1 } });
    process.kill(await pidFrom(pidFile), "SIGKILL");
    const done = await queue.waitFor(job.id, { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: "finished", attempts: 2 });
    expect(done.result).toEqual({ one: "one", two: "two", three: "three", attempts: 2 });
    expect((await readFile(log, "utf8")).split("\n").filter(Boolean)).toEqual(["one", "two", "three"]);
    const steps = (await queue.getJob(job.id))!.steps!;
    expect(steps.map((s) => [s.id, s.n, s.result])).toEqual([
      ["one", 1, "one"],
      ["two", 2, "two"],
      ["three", 3, "three"],
    ]);
  });

  test("a worker frozen past its lease cannot record a step of a job another worker took over", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const jobDir = await mkdtemp(join(dir, "handoff-"));
    const frozen = await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
    const job = await queue.enqueue("handoff", { dir: jobDir }, { retry: { max: 2 } });
    await until("the first worker at its second step", 10_000, () => existsSync(join(jobDir, `waiting-${frozen.pid}`)));
    frozen.signal("SIGSTOP");
    try {
      const other = await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
      await until("the second worker at its second step", 15_000, () =>
        existsSync(join(jobDir, `waiting-${other.pid}`)),
      );
      frozen.signal("SIGCONT");
      // the frozen worker, resumed, runs its step's function too: only the worker holding the job records it
      await writeFile(join(jobDir, "go"), "");
      const done = await queue.waitFor(job.id, { timeoutMs: 20_000 });
      expect(done).toMatchObject({ status: "finished", result: { after: other.pid } });
      const steps = (await queue.getJob(job.id))!.steps!;
      expect(steps.map((s) => [s.id, s.result])).toEqual([
        ["before", frozen.pid],
        ["after", other.pid],
      ]);
    } finally {
      frozen.signal("SIGCONT");
    }
  });

  test("a sleeping job frees its worker's one slot for others, then resumes and finishes", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const log = join(dir, `nap-${++seq}`);
    await writeFile(log, "");
    await workers.start({ redis, redisUrl, prefix, flags: ["--concurrency", "1"] });
    const sleeper = await queue.enqueue("nap", { ms: 1_500, log });
    await until("the job to sleep", 10_000, async () => (await queue.getJob(sleeper.id))?.status === "scheduled");
    // with its one slot free, the worker runs others while the sleeper waits for its time
    const others = await queue.enqueueMany([1, 2, 3].map((n) => ({ task: "echo", args: n })));
    const done = await Promise.all(others.map((j) => queue.waitFor(j.id, { timeoutMs: 10_000 })));
    expect(done.map((j) => j.status)).toEqual(["finished", "finished", "finished"]);
    expect((await queue.getJob(sleeper.id))!.status).toBe("scheduled");
    const woke = await queue.waitFor(sleeper.id, { timeoutMs: 15_000 });
    for (const j of done) expect(j.endedAt!).toBeLessThanOrEqual(woke.startedAt!);
    expect(woke).toMatchObject({ status: "finished", attempts: 1, result: { attempts: 1 } });
    expect((woke.result as { slept: number }).slept).toBeGreaterThanOrEqual(1_500);
    expect((await readFile(log, "utf8")).split("\n").filter(Boolean)).toEqual(["before", "after"]);
    expect((await queue.getJob(sleeper.id))!.steps!.map((s) => s.id)).toEqual(["before", "nap", "after"]);
  });

  test("a job waits for its event without holding a worker, and goes on with its data", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: ["--concurrency", "1", "--isolation", "inline"] });
    const [order7, order8] = await queue.enqueueMany([
      { task: "awaitPayment", args: { order: "o-7", timeoutMs: 60_000 } },
      { task: "awaitPayment", args: { order: "o-8", timeoutMs: 60_000 } },
    ]);
    await until("both jobs to wait", 10_000, async () => (await queue.counts()).awaiting === 2);
    expect(await queue.sendEvent("payment.succeeded", { key: "o-other", data: { amount: 1 } })).toEqual({
      resumed: 0,
      more: false,
    });
    expect(await queue.sendEvent("payment.succeeded", { key: "o-7", data: { amount: 42 } })).toEqual({
      resumed: 1,
      more: false,
    });
    const done = await queue.waitFor(order7!.id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: "finished", attempts: 1 });
    expect(done.result).toEqual({ paid: { amount: 42 }, receipt: "receipt for 42", attempts: 1 });
    const waiting = (await queue.getJob(order8!.id))!;
    expect(waiting.status).toBe("awaiting");
    expect(waiting.waitingFor).toEqual({ event: "payment.succeeded", key: "o-8", until: expect.any(Number) });
    expect((await queue.list("awaiting")).jobs.map((j) => j.id)).toEqual([order8!.id]);
    expect(await queue.cancel(order8!.id)).toMatchObject({ status: "canceled" });
    expect(await queue.sendEvent("payment.succeeded", { key: "o-8" })).toEqual({ resumed: 0, more: false });
  });

  test("a wait whose timeoutMs passes first goes on with null", async ({ workers }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
    const job = await queue.enqueue("awaitPayment", { order: "late", timeoutMs: 500 });
    const done = await queue.waitFor(job.id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: "finished", result: { paid: null, receipt: "no payment" } });
    expect((await queue.getJob(job.id))!.steps!.map((s) => [s.id, s.result])).toEqual([
      ["paid", null],
      ["receipt", "no payment"],
    ]);
  });

  test("a parent with one slot invokes a child and gets its result, or its failure, without a deadlock", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: ["--concurrency", "1", "--isolation", "inline"] });
    const ok = await queue.enqueue("parent", { task: "echo", args: 7 });
    const done = await queue.waitFor(ok.id, { timeoutMs: 15_000 });
    expect(done).toMatchObject({ status: "finished", result: { got: 7, attempts: 1 } });
    expect(await queue.getJob(`${ok.id}:child`)).toMatchObject({ status: "finished", task: "echo", result: 7 });
    expect((await queue.getJob(ok.id))!.steps!.map((s) => [s.id, s.result])).toEqual([["child", 7]]);
    const bad = await queue.enqueue("parent", { task: "fail", args: "x" });
    const failed = await queue.waitFor(bad.id, { timeoutMs: 15_000 });
    expect(failed).toMatchObject({ status: "finished", result: { child: `${bad.id}:child` } });
    expect((failed.result as { failed: string }).failed).toBe("failed on purpose");
  });

  test("a dependent job reads its dependencies' results; a step id used twice fails the job naming it", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix, flags: ["--isolation", "inline"] });
    const [a, b] = await queue.enqueueMany([
      { task: "echo", args: { n: 1 } },
      { task: "echo", args: "two" },
    ]);
    const gather = await queue.enqueue("gather", {}, { dependsOn: [a!.id, b!.id] });
    expect(await queue.waitFor(gather.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "finished",
      result: { [a!.id]: { n: 1 }, [b!.id]: "two" },
    });
    const twice = await queue.waitFor((await queue.enqueue("twice", {})).id, { timeoutMs: 10_000 });
    expect(twice).toMatchObject({ status: "failed", error: { name: "StepError" } });
    expect(twice.error!.message).toContain('ctx.step("same")');
  });
});
