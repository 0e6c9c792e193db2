// Chaos: workers killed with SIGKILL at random moments (horses and all) while
// Redis is restarted once with AOF, and new workers started in their place.
// Every job must still end, with the outcome its task gives it, and no horse
// may outlive its worker. The moments come from a seeded generator: a failing
// run names its seed, and the same seed replays the same kills.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { Queue, type JobView } from "../../shared/index.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";
import { test, type WorkerProcess } from "../support/worker.ts";

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
const ROUNDS = 12;

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer({ appendonly: true });
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  redis.on("error", () => {});
});

afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});

/** mulberry32: a small seeded generator, so a run can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe(`chaos (CHAOS_SEED=${SEED})`, () => {
  test("SIGKILLed workers and a restarted Redis lose no job, and leave no horse behind", { timeout: 150_000 }, async ({
    workers,
  }) => {
    const next = random(SEED);
    const prefix = `chaos-${SEED}`;
    const queue = new Queue("default", { redis, prefix });
    const retry = { max: 50 };
    const jobs: [JobView, "finished" | "failed"][] = [];
    // a wave of jobs, so that every kill finds some running, some waiting
    const enqueueWave = async () => {
      for (let kind = 0; kind < 6; kind++) {
        const ms = 100 + Math.floor(next() * 500);
        if (kind === 0) jobs.push([await queue.enqueue("echo", { n: jobs.length }, { retry }), "finished"]);
        if (kind === 1 || kind === 4) jobs.push([await queue.enqueue("sleep", { ms }, { retry }), "finished"]);
        if (kind === 2) jobs.push([await queue.enqueue("fail", { message: `no ${jobs.length}` }), "failed"]);
        if (kind === 3)
          jobs.push([await queue.enqueue("sleep", { ms }, { retry, priority: 1 + (jobs.length % 3) }), "finished"]);
        if (kind === 5) jobs.push([await queue.enqueue("echo", "later", { retry, delayMs: ms }), "finished"]);
      }
    };
    const spec = { redis, redisUrl: server.url, prefix, flags: ["--concurrency", "2"], noWait: true };
    const start = () => workers.start(spec);
    const alive: WorkerProcess[] = [await start(), await start(), await start()];
    // the worker alone is killed: its horses must end by themselves (none left behind)
    const kill = async (index: number) => {
      const [victim] = alive.splice(index, 1);
      await victim!.killAlone();
      alive.push(await start());
    };

    for (let round = 0; round < ROUNDS; round++) {
      await enqueueWave();
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(next() * 600)));
      if (round === Math.floor(ROUNDS / 2)) {
        await server.stop();
        await server.start();
      } else {
        await kill(Math.floor(next() * alive.length));
      }
    }

    const ended = await Promise.all(jobs.map(([job]) => queue.waitFor(job.id, { timeoutMs: 90_000 })));
    for (const [i, job] of ended.entries()) {
      const [enqueued, expected] = jobs[i]!;
      expect(job.status, `${enqueued.task} ${JSON.stringify(enqueued.args)} (seed ${SEED})`).toBe(expected);
      if (enqueued.task === "echo") expect(job.result).toEqual(enqueued.args);
      if (enqueued.task === "sleep") expect(job.result).toEqual({ slept: (enqueued.args as { ms: number }).ms });
      // a failing job without retries fails from its own error, or abandoned when its worker died under it
      if (enqueued.task === "fail") expect(["Error", "AbandonedJobError"]).toContain(job.error?.name);
    }
    expect(await queue.counts()).toMatchObject({ queued: 0, started: 0, scheduled: 0, deferred: 0 });
    // the chaos reached running jobs: some were taken from a dead worker and run again
    const interrupted = ended.filter((j) => j.attempts > 1 || j.error?.name === "AbandonedJobError");
    expect(interrupted.length, `seed ${SEED}`).toBeGreaterThan(0);
    for (const worker of alive) await worker.killAlone();
  });
});
