// Chaos: a full Redis. A small maxmemory under noeviction is reached while
// producers enqueue (over TCP and over HTTP through the edge and the gateway)
// and workers end jobs. An enqueue past it is refused with RedisFullError (a
// 503 over HTTP) and writes nothing: no job hash without its place in a queue
// or a registry, and no place without its hash. Workers keep running, and once
// memory is freed every job a producer saw acknowledged ends.
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect } from "vitest";
import { Queue, RedisFullError } from "../../shared/index.ts";
import { startEdge, type EdgeServer } from "../support/edge.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";
import { test } from "../support/worker.ts";

/** Jobs enqueued before Redis fills up; as many attempts again while it is full. */
const JOBS = Number(process.env.CHAOS_MEMORY_JOBS ?? 200);
const KEY = "memory-chaos-key-0123456789abcdef0123";
const prefix = "chaos-memory";

let server: RedisServer;
let redis: Redis;
let edge: EdgeServer;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  await redis.config("SET", "maxmemory-policy", "noeviction");
  edge = await startEdge({
    redisUrl: server.url,
    prefix,
    apiKeys: [{ name: "producer", key: KEY, scopes: ["enqueue", "read"] }],
  });
});

afterAll(async () => {
  await edge?.close();
  redis?.disconnect();
  await server?.destroy();
});

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
}

/** Fills Redis with keys outside the prefix until it refuses a write; answers how many it took. */
async function fill(): Promise<number> {
  const value = "x".repeat(64 * 1024);
  for (let i = 0; ; i++) {
    try {
      await redis.set(`filler:${i}`, value);
    } catch (error) {
      if ((error as Error).message.includes("OOM")) return i;
      throw error;
    }
  }
}

test(`a full Redis refuses enqueues cleanly and loses nothing acknowledged (${JOBS} jobs)`, async ({ workers }) => {
  const queue = new Queue("default", { redis, prefix });
  const spec = { redis, redisUrl: server.url, prefix, flags: ["--concurrency", "4"] };
  const fleet = [await workers.start(spec), await workers.start(spec)];
  const acknowledged: string[] = [];
  const refused = { tcp: 0, http: 0 };
  const unexpected: string[] = [];

  /** One enqueue, over TCP (even n) or HTTP (odd n): its id when acknowledged. */
  const enqueue = async (n: number) => {
    const args = { ms: 50 + (n % 5) * 50 };
    if (n % 2 === 0) {
      try {
        acknowledged.push((await queue.enqueue("sleep", args, { retry: { max: 3 } })).id);
      } catch (error) {
        if (error instanceof RedisFullError) refused.tcp++;
        else unexpected.push(`tcp: ${(error as Error).message}`);
      }
      return;
    }
    const response = await fetch(`${edge.url}/v1/queues/default/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ task: "sleep", args, options: { retry: { max: 3 } } }),
    });
    const body = (await response.json()) as { id?: string; type?: string; title?: string };
    if (response.status === 201) acknowledged.push(body.id!);
    else if (response.status === 503 && body.type === "urn:edgeq:problem:redis-full") refused.http++;
    else unexpected.push(`http ${response.status}: ${JSON.stringify(body)}`);
  };

  // a little room above what Redis holds now, filled while jobs are enqueued and run
  await redis.config("SET", "maxmemory", String((await usedMemory()) + 4 * 1024 * 1024));
  for (let n = 0; n < JOBS / 2; n++) await enqueue(n);
  const enqueues = (async () => {
    for (let n = JOBS / 2; n < JOBS; n++) await enqueue(n);
  })();
  const fillers = await fill();
  // and held full: below what Redis holds, whatever a finished job or a client's buffer frees meanwhile
  await redis.config("SET", "maxmemory", String((await usedMemory()) - 1024 * 1024));
  await enqueues;
  const full = Date.now();
  // while full: more enqueues, all refused, on both paths
  for (let n = 0; n < JOBS; n++) await enqueue(n);
  expect(unexpected).toEqual([]);
  expect(refused.tcp).toBeGreaterThanOrEqual(JOBS / 2);
  expect(refused.http).toBeGreaterThanOrEqual(JOBS / 2);

  // nothing half-written: every job hash is an acknowledged job, in exactly one place
  const hashes = (await redis.keys(`{${prefix}}:job:*`)).map((key) => key.slice(`{${prefix}}:job:`.length));
  expect(hashes.sort()).toEqual([...acknowledged].sort());
  const counts = await queue.counts();
  const placed = Object.values(counts).reduce((sum, n) => sum + n, 0);
  expect(placed).toBe(acknowledged.length);

  // workers went on ending jobs while Redis was full (an ending's first write frees memory: Redis lets it through)
  const endedWhileFull = (await queue.counts()).finished;

  // memory back: every acknowledged job ends, with no worker restarted
  await redis.del(...Array.from({ length: fillers }, (_, i) => `filler:${i}`));
  const freed = Date.now();
  const ended = await Promise.all(acknowledged.map((id) => queue.waitFor(id, { timeoutMs: 60_000 })));
  const resumeMs = Date.now() - freed;
  expect(ended.filter((job) => job.status !== "finished").map((job) => [job.id, job.status, job.error])).toEqual([]);
  for (const worker of fleet) expect(worker.running).toBe(true);
  const after = await queue.enqueue("echo", "after");
  expect(await queue.waitFor(after.id, { timeoutMs: 15_000 })).toMatchObject({ status: "finished" });

  const warnings = fleet.map((w) => w.output.split("\n").filter((line) => line.includes('"level":40')).length);
  const reruns = ended.reduce((sum, job) => sum + job.attempts - 1, 0);
  const figures = {
    jobs: acknowledged.length,
    refused,
    lost: 0,
    reruns,
    endedWhileFull,
    fullForMs: freed - full,
    resumeMs,
    warnings,
  };
  console.log(`memory figures: ${JSON.stringify(figures)}`);
});
