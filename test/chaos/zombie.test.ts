// Chaos: a zombie worker. A worker is frozen with SIGSTOP past its lease
// while its job runs (a GC pause, a VM migration look the same to Redis);
// another worker recovers the job and finishes it; then the frozen one is
// resumed with SIGCONT, its horse having finished the first attempt
// meanwhile. The zombie's writes are fenced by its claim: the job keeps the
// second worker's result, its first attempt is recorded as lost, and the
// zombie logs that it lost the job and goes on taking jobs.
import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect } from "vitest";
import { Queue } from "../../shared/index.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";
import { pidFiles, pidFrom, test, until } from "../support/worker.ts";

/** How many jobs the zombie is frozen over, one after the other. */
const ROUNDS = Number(process.env.CHAOS_ZOMBIE_ROUNDS ?? 3);

let server: RedisServer;
let redis: Redis;
const pidFile = pidFiles();

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});

test(`a worker frozen past its lease cannot overwrite recovery (${ROUNDS} rounds)`, async ({ workers }) => {
  const prefix = "chaos-zombie";
  const queue = new Queue("default", { redis, prefix });
  const spec = { redis, redisUrl: server.url, prefix };
  const zombie = await workers.start(spec);
  const figures = { jobs: 0, lost: 0, reruns: 0, zombieWritesRefused: 0, msToNoticeLoss: [] as number[] };

  for (let round = 0; round < ROUNDS; round++) {
    const file = pidFile();
    const doneFile = `${file}.done`;
    // the first attempt sleeps past the lease; the second (the rescuer's) returns at once
    const args = { pidFile: file, doneFile, ms: 2_500, quickFromAttempt: 2 };
    const job = await queue.enqueue("hang", args, { retry: { max: 1 } });
    figures.jobs++;
    const zombieHorse = await pidFrom(file);
    zombie.signal("SIGSTOP");
    const rescuer = await workers.start(spec);
    const ended = await queue.waitFor(job.id, { timeoutMs: 30_000 });
    // the zombie's horse was not frozen: its attempt ends too, with an outcome for the frozen worker
    await until("the zombie's horse to end its attempt", 10_000, () => existsSync(doneFile));
    const resumed = Date.now();
    zombie.signal("SIGCONT");
    await until("the zombie to log its lost lease", 10_000, () => zombie.output.includes(job.id));
    figures.msToNoticeLoss.push(Date.now() - resumed);

    expect(ended).toMatchObject({ status: "finished", attempts: 2, result: { attempts: 2 } });
    expect((ended.result as { pid: number }).pid).not.toBe(zombieHorse);
    const attempts = (await queue.attempts(job.id))!;
    expect(attempts.map((a) => [a.attempt, a.status, a.lost, a.error?.name ?? null])).toEqual([
      [2, "finished", false, null],
      [1, "failed", true, "AbandonedJobError"],
    ]);
    figures.lost += attempts.filter((a) => a.lost).length;
    figures.reruns += ended.attempts - 1;
    // the zombie reported its outcome, or heard of the loss first: either way the job is unchanged
    const line = zombie.output.split("\n").find((l) => l.includes(job.id))!;
    expect(line).toMatch(/lease (was )?lost/);
    if (line.includes("before its outcome was reported")) figures.zombieWritesRefused++;
    expect(await queue.getJob(job.id)).toEqual(ended);
    await rescuer.kill();
  }

  // the zombie kept running: it takes the next job alone
  expect(zombie.running).toBe(true);
  const after = await queue.enqueue("echo", "after");
  expect(await queue.waitFor(after.id, { timeoutMs: 15_000 })).toMatchObject({ status: "finished", result: "after" });
  console.log(`zombie figures: ${JSON.stringify(figures)}`);
});
