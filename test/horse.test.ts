// Horses that must contain hostile or careless tasks, with real parts: real
// worker processes, real child processes and worker threads, a real
// redis-server. A task reads the environment, eats memory, leaves errors
// behind, ignores its signal or never yields; each test asserts what the job
// view and the world outside say afterwards.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { DEFAULTS, Queue, type JobView } from "../shared/index.ts";
import { prefixesFor } from "./support/prefixes.ts";
import { test, until, type WorkerProcess, type WorkerSpec } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const freshPrefix = prefixesFor("horse");
const TASKS = "test/fixtures/horse-tasks.ts";
const HORSES = ["process", "thread"] as const;
let redis: Redis;
let dir: string;
let seq = 0;

beforeAll(async () => {
  redis = new Redis(redisUrl);
  dir = await mkdtemp(join(tmpdir(), "edgeq-horse-test-"));
});

afterAll(async () => {
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/** A prefix and queue of the test's own, and the spec of a worker on them running the horse fixtures. */
function setup(flags: string[], env: Record<string, string> = {}): { queue: Queue; spec: WorkerSpec } {
  const prefix = freshPrefix();
  return {
    queue: new Queue("default", { redis, prefix }),
    spec: { redis, redisUrl, prefix, tasks: TASKS, flags, env },
  };
}

function file(name: string): string {
  return join(dir, `${name}-${++seq}`);
}

/** What a fixture task wrote to `path`, once it has. */
function written(path: string): Promise<string> {
  return until(`${path} to be written`, 10_000, () => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  });
}

/** Whether something accepts connections on the port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Two SIGTERMs, the second once the worker has taken the first (two at once may merge into one). */
async function coldShutdown(queue: Queue, worker: WorkerProcess): Promise<void> {
  worker.signal("SIGTERM");
  await until("the worker to report a warm shutdown", 10_000, async () => {
    const { workers } = await queue.info();
    return workers.find((w) => w.name === worker.name)?.state === "warm";
  });
  worker.signal("SIGTERM");
}

/** The horse a `where`-like result names: a process, and a thread within it. */
function horseOf(job: JobView): string {
  const { pid, threadId } = job.result as { pid: number; threadId: number };
  return `${pid}/${threadId}`;
}

describe.concurrent("a horse's environment", () => {
  for (const isolation of HORSES) {
    test(`${isolation}: a task sees the allowlist and the names added, never REDIS_URL or EDGEQ_* secrets`, async ({
      workers,
    }) => {
      const { queue, spec } = setup(["--isolation", isolation, "--horse-env", "ADDED_BY_FLAG"], {
        EDGEQ_HORSE_ENV: "ADDED_BY_ENV",
        ADDED_BY_ENV: "1",
        ADDED_BY_FLAG: "2",
        NOT_LISTED: "3",
        EDGEQ_CALLBACK_SECRET: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
        // a loader or flags in NODE_OPTIONS would reach every horse
        NODE_OPTIONS: "--no-deprecation",
      });
      await workers.start(spec);
      const enqueued = await queue.enqueue("envNames");
      const job = await queue.waitFor(enqueued.id, { timeoutMs: 10_000 });
      expect(job.status).toBe("finished");
      const names = job.result as string[];
      expect(names).toEqual(expect.arrayContaining(["PATH", "ADDED_BY_ENV", "ADDED_BY_FLAG"]));
      // nothing else: REDIS_URL, EDGEQ_PREFIX, EDGEQ_CALLBACK_SECRET, NODE_OPTIONS, NOT_LISTED all stay behind
      const allowed = new Set<string>([...DEFAULTS.horseEnv, "ADDED_BY_ENV", "ADDED_BY_FLAG"]);
      expect(names.filter((name) => !allowed.has(name))).toEqual([]);
    });
  }

  test("--horse-env with --isolation inline is refused: there is no horse to keep secrets from", async ({
    workers,
  }) => {
    const { spec } = setup(["--isolation", "inline", "--horse-env", "ANYTHING"]);
    const worker = await workers.start({ ...spec, noWait: true });
    expect(await worker.waitExit(10_000)).toEqual({ code: 2, signal: null });
    expect(worker.output).toContain("--horse-env applies to horses");
  });
});

describe.concurrent("a horse's memory ceiling", () => {
  for (const isolation of HORSES) {
    test(`${isolation}: a task that allocates past it fails with HorseOutOfMemoryError; the worker goes on`, async ({
      workers,
    }) => {
      const { queue, spec } = setup(["--isolation", isolation, "--horse-max-memory-mb", "64"]);
      const worker = await workers.start(spec);
      const hog = await queue.enqueue("allocate");
      const job = await queue.waitFor(hog.id, { timeoutMs: 20_000 });
      expect(job).toMatchObject({ status: "failed", attempts: 1, error: { name: "HorseOutOfMemoryError" } });
      expect(job.error!.message).toContain("64 MB");
      const next = await queue.enqueue("echo", "after the hog");
      expect(await queue.waitFor(next.id, { timeoutMs: 10_000 })).toMatchObject({
        status: "finished",
        result: "after the hog",
      });
      expect(worker.running).toBe(true);
    });
  }
});

describe.concurrent("an error that escapes a task, with --horse-max-jobs 5", () => {
  for (const isolation of HORSES) {
    test(`${isolation}: a rejection left behind after a job never fails the jobs after it`, async ({ workers }) => {
      const { queue, spec } = setup(["--isolation", isolation, "--horse-max-jobs", "5"]);
      const worker = await workers.start(spec);
      // all queued at once: the next job may be on its way to the horse as the rejection hits
      const jobs = await queue.enqueueMany([
        { task: "leaveRejection" },
        { task: "where" },
        { task: "where" },
        { task: "where" },
      ]);
      const done = await Promise.all(jobs.map((j) => queue.waitFor(j.id, { timeoutMs: 10_000 })));
      expect(done.map((j) => j.status)).toEqual(["finished", "finished", "finished", "finished"]);
      // the horse that was left with the error served no more jobs
      for (const later of done.slice(1)) expect(horseOf(later)).not.toBe(horseOf(done[0]!));
      // and the worker said why, naming the error
      await until("the worker to log the escaped error", 5_000, () =>
        /Error: rejected after the job ended.*an error escaped a task after its job ended/.test(worker.output),
      );
    });

    for (const [how, name, cause] of [
      ["rejection", "UnhandledRejectionError", "RangeError: nobody awaited this"],
      ["throw", "UncaughtExceptionError", "TypeError: thrown from a timer"],
    ] as const) {
      const title = `${isolation}: an unhandled ${how} mid-job fails that job with ${name}; the next: a fresh horse`;
      test(title, async ({ workers }) => {
        const { queue, spec } = setup(["--isolation", isolation, "--horse-max-jobs", "5"]);
        await workers.start(spec);
        const first = await queue.enqueue("where");
        const before = await queue.waitFor(first.id, { timeoutMs: 10_000 });
        // the task itself never settles: only the escaped error can end it
        const escaping = await queue.enqueue("escapeWhileRunning", { how });
        const failed = await queue.waitFor(escaping.id, { timeoutMs: 10_000 });
        expect(failed).toMatchObject({ status: "failed", attempts: 1, error: { name, message: cause } });
        expect(failed.error!.stack).toContain("horse-tasks.ts");
        const next = await queue.enqueue("where");
        const after = await queue.waitFor(next.id, { timeoutMs: 10_000 });
        expect(after.status).toBe("finished");
        expect(horseOf(after)).not.toBe(horseOf(before));
      });
    }
  }
});

describe.concurrent("--isolation thread", () => {
  test("runs each job in a worker thread of the worker's own process, a fresh one per job by default", async ({
    workers,
  }) => {
    const { queue, spec } = setup(["--isolation", "thread"]);
    const worker = await workers.start(spec);
    const jobs = await queue.enqueueMany([{ task: "where" }, { task: "where" }]);
    const done = await Promise.all(jobs.map((j) => queue.waitFor(j.id, { timeoutMs: 10_000 })));
    const places = done.map((j) => j.result as { pid: number; threadId: number });
    expect(places.map((p) => p.pid)).toEqual([worker.pid, worker.pid]);
    expect(places[0]!.threadId).toBeGreaterThan(0);
    expect(places[0]!.threadId).not.toBe(places[1]!.threadId);
  });

  test("a task module that cannot load stops the worker before it claims anything", async ({ workers }) => {
    const { queue, spec } = setup(["--isolation", "thread"]);
    const waiting = await queue.enqueue("echo", "never run");
    const worker = await workers.start({ ...spec, tasks: "test/fixtures/broken-tasks.ts", noWait: true });
    expect(await worker.waitExit(15_000)).toEqual({ code: 1, signal: null });
    expect(worker.output).toContain("this task module fails at import");
    expect(await queue.getJob(waiting.id)).toMatchObject({ status: "queued", attempts: 0 });
  });

  test("a task that calls process.exit ends its thread alone: HorseCrashedError, and the worker goes on", async ({
    workers,
  }) => {
    const { queue, spec } = setup(["--isolation", "thread"]);
    const worker = await workers.start(spec);
    const crashing = await queue.enqueue("crash", { code: 7 });
    const job = await queue.waitFor(crashing.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "failed", attempts: 1, error: { name: "HorseCrashedError" } });
    expect(job.error!.message).toMatch(/exited with code 7/);
    const next = await queue.enqueue("echo", "after the crash");
    expect(await queue.waitFor(next.id, { timeoutMs: 10_000 })).toMatchObject({ status: "finished" });
    expect(worker.running).toBe(true);
  });

  test("a job past its timeout is terminated, even one that never yields; the worker goes on", async ({ workers }) => {
    const { queue, spec } = setup(["--isolation", "thread"]);
    const worker = await workers.start(spec);
    const portFile = file("port");
    const spinning = await queue.enqueue("spin", { portFile }, { timeoutMs: 300 });
    const port = Number(await written(portFile));
    const job = await queue.waitFor(spinning.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "failed", attempts: 1, error: { name: "JobTimeoutError" } });
    // its server lived in the thread: the port is free once the thread is gone
    await until(`port ${port} to close`, 5_000, async () => !(await accepting(port)));
    const next = await queue.enqueue("echo", "still here");
    expect(await queue.waitFor(next.id, { timeoutMs: 10_000 })).toMatchObject({ status: "finished" });
    expect(worker.running).toBe(true);
  });

  test("a stop request terminates the job's thread", async ({ workers }) => {
    const { queue, spec } = setup(["--isolation", "thread"]);
    await workers.start(spec);
    const portFile = file("port");
    const spinning = await queue.enqueue("spin", { portFile });
    const port = Number(await written(portFile));
    expect((await queue.cancel(spinning.id)).status).toBe("started");
    const job = await queue.waitFor(spinning.id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ status: "stopped", error: { name: "JobStoppedError" } });
    await until(`port ${port} to close`, 5_000, async () => !(await accepting(port)));
  });

  test("a cold shutdown terminates the running thread and puts its job back", async ({ workers }) => {
    const { queue, spec } = setup(["--isolation", "thread"]);
    const worker = await workers.start(spec);
    const portFile = file("port");
    const spinning = await queue.enqueue("spin", { portFile });
    await written(portFile);
    await coldShutdown(queue, worker);
    expect(await worker.waitExit(5_000)).toEqual({ code: 0, signal: null });
    expect(await queue.getJob(spinning.id)).toMatchObject({ status: "queued", attempts: 0, error: null });
  });
});

describe.concurrent("--isolation inline: timeouts that tell the truth", () => {
  test("a task past its timeout keeps its slot until it settles; its outcome is written then", async ({ workers }) => {
    const { queue, spec } = setup(["--isolation", "inline", "--concurrency", "1"]);
    await workers.start(spec);
    const doneFile = file("done");
    const [late, next] = await queue.enqueueMany([
      { task: "overrun", args: { ms: 1_500, doneFile }, options: { timeoutMs: 300 } },
      { task: "where" },
    ]);
    const failed = await queue.waitFor(late!.id, { timeoutMs: 10_000 });
    const ended = JSON.parse(await written(doneFile)) as { at: number; aborted: boolean };
    expect(failed).toMatchObject({ status: "failed", attempts: 1, error: { name: "JobTimeoutError" } });
    expect(failed.error!.message).toMatch(/inline, it could only be asked to stop, and ended after \d+ ms/);
    // its signal was aborted at the timeout, but the task went on; the job was not reported until it ended
    expect(ended.aborted).toBe(true);
    expect(failed.endedAt!).toBeGreaterThanOrEqual(ended.at);
    // one slot: the next job did not start while the first still ran
    const second = await queue.waitFor(next!.id, { timeoutMs: 10_000 });
    expect(second.status).toBe("finished");
    expect(second.startedAt!).toBeGreaterThanOrEqual(ended.at);
  });

  test("a task that heeds ctx.signal ends at its timeout", async ({ workers }) => {
    const { queue, spec } = setup(["--isolation", "inline"]);
    await workers.start(spec);
    const enqueued = await queue.enqueue("hang", { ms: 60_000 }, { timeoutMs: 300 });
    expect(await queue.waitFor(enqueued.id, { timeoutMs: 10_000 })).toMatchObject({
      status: "failed",
      error: { name: "JobTimeoutError" },
    });
  });

  test("a cold shutdown does not wait for a task that ignores its signal: its job goes back", async ({ workers }) => {
    const { queue, spec } = setup(["--isolation", "inline"]);
    const worker = await workers.start(spec);
    const doneFile = file("done");
    const stuck = await queue.enqueue("overrun", { ms: 60_000, doneFile });
    await until("the job to start", 10_000, async () => (await queue.getJob(stuck.id))?.status === "started");
    await coldShutdown(queue, worker);
    expect(await worker.waitExit(5_000)).toEqual({ code: 0, signal: null });
    expect(await queue.getJob(stuck.id)).toMatchObject({ status: "queued", attempts: 0, error: null });
  });
});
