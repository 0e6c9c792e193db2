// One real worker process (worker-node/main.ts) with a horse per job, shared
// by tests that each look only at their own jobs: results, errors and their
// stacks, retries, unknown tasks, crashed and stopped horses, progress, result
// limits. Each enqueues with `Queue` and asserts what the job view and Redis say.
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { DEFAULTS, Queue, type JobView } from "../shared/index.ts";
import { connectForFile, redis } from "./support/connection.ts";
import { prefixesFor } from "./support/prefixes.ts";
import { isAlive, pidFiles, pidFrom, test, until, Workers, type WorkerProcess } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const freshPrefix = prefixesFor("worker-horses");
connectForFile();
const pidFile = pidFiles();

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
