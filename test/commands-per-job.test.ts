// What a plain job costs Redis, in commands (README, "Performance"): `echo`
// jobs enqueued over TCP one call each, then run by an inline Worker, on a
// redis-server of this file's own, since INFO commandstats counts the whole
// server. Commands that scripts run count one each, and so does the
// EVALSHA that ran them. The bound is what the scripts cost when it was
// written: a change that makes a plain job pay for more fails here, with
// the breakdown printed to see where.
import { resolve } from "node:path";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Keys, Queue } from "../shared/index.ts";
import { Worker } from "../worker-node/worker.ts";
import { commandCalls, startRedisServer, type RedisServer } from "./support/redis.ts";
import { FIXTURE_TASKS } from "./support/worker.ts";

const JOBS = 500;
/**
 * Commands per job, enqueue and run together, at most: at concurrency 1 each
 * job is one report (32.05 when written: the 0.05 is the worker's start and
 * end); at 8, jobs that end together share a call, how many depends on
 * timing (26.8 when written), so its bound leaves room for smaller batches.
 */
const BOUND = { 1: 32.1, 8: 30 };

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  client = new Redis(server.url);
});

afterAll(async () => {
  client?.disconnect();
  await server?.destroy();
});

/** Calls per command between two readings of commandstats, per job. */
function perJob(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [command, n] of Object.entries(after)) {
    const delta = n - (before[command] ?? 0);
    if (delta > 0) out[command] = Math.round((delta / JOBS) * 100) / 100;
  }
  return out;
}

const total = (calls: Record<string, number>) =>
  Math.round(Object.values(calls).reduce((sum, n) => sum + n, 0) * 100) / 100;

describe("Redis commands per plain job", () => {
  for (const concurrency of [1, 8] as const) {
    test(`enqueued and run at concurrency ${concurrency}: at most ${BOUND[concurrency]}`, async () => {
      const prefix = `cpj${concurrency}`;
      const queue = new Queue("default", { redis: client, prefix });
      // the first job loads the scripts and warms the worker's paths
      await queue.enqueue("echo", { n: -1 });
      const logger = pino({ level: "silent" });
      const options = { redisUrl: server.url, prefix, queues: ["default"], tasks: resolve(FIXTURE_TASKS) };
      await new Worker({ ...options, isolation: "inline", burst: true, logger }).run();

      const start = await commandCalls(client);
      for (let i = 0; i < JOBS; i++) await queue.enqueue("echo", { n: i });
      const enqueued = await commandCalls(client);
      await new Worker({ ...options, isolation: "inline", concurrency, burst: true, logger }).run();
      const ran = await commandCalls(client);

      expect(await client.zcard(Keys.forPrefix(prefix).registry("finished", "default"))).toBe(JOBS + 1);
      const enqueue = perJob(start, enqueued);
      const run = perJob(enqueued, ran);
      const sum = total(enqueue) + total(run);
      console.log(
        `commands per plain job at concurrency ${concurrency}: ${sum}\n` +
          `  enqueue ${total(enqueue)}: ${JSON.stringify(enqueue)}\n` +
          `  run ${total(run)}: ${JSON.stringify(run)}`,
      );
      expect(sum).toBeLessThanOrEqual(BOUND[concurrency]);
    });
  }
});
