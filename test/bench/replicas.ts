// What a replica wait costs (EDGEQ_WAIT_REPLICAS, a Queue's waitReplicas):
// enqueue over TCP against the bench's Redis with a replica of its own
// attached, without WAIT and with WAIT for that replica, side by side in the
// same rounds. A worker's report of ended jobs pays the same one WAIT a call.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Queue } from "../../shared/index.ts";
import { freePort, redisServerArgs } from "../../worker-node/local-redis.ts";
import { spawnRedisServer, stopRedisServer } from "../support/redis.ts";
import { until } from "../support/until.ts";
import { IN_FLIGHT } from "./ceilings.ts";
import { PREFIX, type Context } from "./context.ts";
import { loadContender, type Plan } from "./measure.ts";
import { once } from "./util.ts";

export function replicasPlan(ctx: Context): Plan {
  let dir = "";
  let replica: Awaited<ReturnType<typeof spawnRedisServer>> | undefined;
  const clients: Redis[] = [];
  // the replica starts with the first case and follows every FLUSHALL between groups
  const attached = once(async () => {
    dir = await mkdtemp(join(tmpdir(), "edgeq-bench-replica-"));
    const port = await freePort();
    replica = await spawnRedisServer([
      ...redisServerArgs(port, dir, false),
      "--replicaof",
      ctx.redis.host,
      `${ctx.redis.port}`,
    ]);
    await until("the bench's replica to be in sync", 30_000, async () =>
      /slave0:.*state=online/.test(await ctx.redis.admin.info("replication")),
    );
  });
  const queueOf = (waitReplicas?: { replicas: number; timeoutMs: number }) => {
    let queue: Queue | undefined;
    return {
      start: once(async () => {
        await attached();
        const redis = new Redis(ctx.redis.url);
        clients.push(redis);
        queue = new Queue("replicas", { redis, prefix: PREFIX, waitReplicas });
      }),
      op: () => queue!.enqueue("noop", {}),
    };
  };
  const variants = [
    { key: "seq", what: "sequential", concurrency: 1 },
    { key: "parallel", what: `${IN_FLIGHT} in flight`, concurrency: IN_FLIGHT },
  ];
  const groups = variants.map((v) =>
    [
      { key: "nowait", label: "a replica attached, no WAIT", queue: queueOf() },
      { key: "wait1", label: "WAIT 1 replica", queue: queueOf({ replicas: 1, timeoutMs: 1_000 }) },
    ].map((c) =>
      loadContender({
        id: `enqueue.replicas.${c.key}.${v.key}`,
        scenario: "2. Enqueue",
        case: `edgeq Queue.enqueue over TCP, ${c.label}, ${v.what}`,
        start: c.queue.start,
        op: c.queue.op,
        durationMs: ctx.profile.loadMs,
        concurrency: v.concurrency,
        rateLabel: "jobs/s",
      }),
    ),
  );
  return {
    groups,
    async teardown() {
      for (const client of clients) client.disconnect();
      await stopRedisServer(replica);
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
