// Past one Redis: a real three-master Redis Cluster. Two deployments (key
// prefixes) whose keys hash to different masters, served by one worker
// process; a master is restarted (AOF on) while their jobs run, and every
// job still ends.
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { Queue, type JobView } from "../../shared/index.ts";
import { startRedisCluster, type RedisClusterHandle } from "../support/cluster.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { test, until } from "../support/worker.ts";

let cluster: RedisClusterHandle;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = cluster.client();
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.destroy();
});

/** Two prefixes whose keys live on different masters. */
async function prefixesOnTwoShards(): Promise<[string, string, number]> {
  const first = uniquePrefix("shard");
  const firstMaster = await cluster.masterOf(`{${first}}`);
  for (;;) {
    const second = uniquePrefix("shard");
    if ((await cluster.masterOf(`{${second}}`)) !== firstMaster) return [first, second, firstMaster];
  }
}

describe("a Redis Cluster", () => {
  test("runs two prefixes on two shards with one worker; a master restarted mid-run loses no job", {
    timeout: 120_000,
  }, async ({ workers }) => {
    const [a, b, masterOfA] = await prefixesOnTwoShards();
    const queues = [
      new Queue("default", { redis: client, prefix: a }),
      new Queue("default", { redis: client, prefix: b }),
    ];
    const jobs: [Queue, JobView][] = [];
    for (const queue of queues) {
      const made = await queue.enqueueMany(
        Array.from({ length: 12 }, () => ({ task: "sleep", args: { ms: 150 }, options: { retry: { max: 5 } } })),
      );
      jobs.push(...made.map((job): [Queue, JobView] => [queue, job]));
    }
    const worker = await workers.start({
      redis: client as never,
      redisUrl: "redis://127.0.0.1:1",
      prefix: `${a},${b}`,
      flags: ["--concurrency", "3"],
      env: { REDIS_CLUSTER_NODES: cluster.nodes.join(",") },
      noWait: true,
    });
    // some jobs of both deployments have run: the worker reaches both shards
    await until("jobs of both prefixes to finish", 30_000, async () => {
      if (!worker.running) throw new Error("the worker exited");
      const counts = await Promise.all(queues.map((q) => q.counts()));
      return counts.every((c) => c.finished >= 2);
    }).catch((error: Error) => {
      throw new Error(`${error.message}:\n${worker.output}`);
    });
    await cluster.stop(masterOfA);
    await cluster.start(masterOfA);
    const ended = await Promise.all(jobs.map(([queue, job]) => queue.waitFor(job.id, { timeoutMs: 60_000 })));
    expect(ended.map((j) => j.status)).toEqual(ended.map(() => "finished"));
    for (const queue of queues) expect(await queue.counts()).toMatchObject({ queued: 0, started: 0, finished: 12 });
  });
});
