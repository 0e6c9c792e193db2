// edgeq over Redis Sentinel, one process at a time: the producer API with an
// ioredis Sentinel client, a connection made from REDIS_SENTINELS, the
// gateway in front of the master Sentinel names, NOSCRIPT after SCRIPT FLUSH
// on the paths that are not the worker's (reads, cancels, settings, over TCP
// and over REST), a replica wait (EDGEQ_WAIT_REPLICAS) kept and refused, and
// a failover that Sentinel makes while a producer enqueues. The heavy run,
// workers and a SIGKILLed master, is test/chaos/sentinel.test.ts.
import { Redis as Upstash } from "@upstash/redis";
import type { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue, ReplicasBehindError } from "../shared/index.ts";
import { readRedisEnv, redisTarget, replicaWait } from "../worker-node/config.ts";
import { connect } from "../worker-node/connection.ts";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { uniquePrefix } from "./support/prefixes.ts";
import { startSentinels, type SentinelHandle } from "./support/sentinel.ts";
import { until } from "./support/until.ts";

const TOKEN = "sentinel-test-token";
const silent = pino({ level: "silent" });
const prefix = uniquePrefix("sentinel");

let deployment: SentinelHandle;
let client: Redis;
let gateway: Gateway;
let master: Redis;

beforeAll(async () => {
  deployment = await startSentinels();
  client = deployment.client({ maxRetriesPerRequest: null });
  master = deployment.node(deployment.ports[0]);
  const sentinel = { nodes: deployment.sentinels, name: deployment.name };
  gateway = await startGateway({ redisUrl: "redis://127.0.0.1", sentinel, token: TOKEN, port: 0, logger: silent });
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  master?.disconnect();
  await gateway?.close();
  await deployment?.destroy();
});

/** Every path of a Queue that is not the worker's: enqueue, reads, a cancel, a requeue, settings. */
async function exercise(queue: Queue): Promise<void> {
  const job = await queue.enqueue("echo", { n: 1 }, { delayMs: 60_000 });
  expect((await queue.getJob(job.id))?.status).toBe("scheduled");
  expect((await queue.counts()).scheduled).toBeGreaterThan(0);
  expect((await queue.list("scheduled")).jobs.map((j) => j.id)).toContain(job.id);
  expect((await queue.cancel(job.id)).status).toBe("canceled");
  expect(await queue.attempts(job.id)).toEqual([]);
  expect((await queue.requeue(job.id)).status).toBe("queued");
  expect(await queue.configure({ paused: true })).toMatchObject({ paused: true });
  expect(await queue.resume()).not.toHaveProperty("paused");
}

describe("Redis Sentinel", () => {
  it("serves a Queue given an ioredis Sentinel client, and a connection made from REDIS_SENTINELS", async () => {
    await exercise(new Queue("tcp", { redis: client, prefix }));
    const env = readRedisEnv({ REDIS_SENTINELS: deployment.sentinels.join(","), REDIS_URL: "redis://127.0.0.1" });
    expect(env.REDIS_SENTINEL_NAME).toBe("mymaster");
    const made = connect(redisTarget(env), { maxRetriesPerRequest: null });
    try {
      const job = await new Queue("tcp", { redis: made, prefix }).enqueue("echo", {});
      expect((await new Queue("tcp", { redis: client, prefix }).getJob(job.id))?.status).toBe("queued");
      expect(((await made.call("ROLE")) as string[])[0]).toBe("master");
    } finally {
      made.disconnect();
    }
  });

  it("runs every script again from its source after SCRIPT FLUSH, over TCP and through the gateway", async () => {
    const rest = new Upstash({ url: gateway.url, token: TOKEN, enableTelemetry: false });
    for (const redis of [client, rest]) {
      await master.script("FLUSH");
      await exercise(new Queue("flushed", { redis, prefix }));
    }
  });

  it("acknowledges an enqueue once WAIT says the replica has it, refuses one none could confirm", async () => {
    const kept = new Queue("durable", { redis: client, prefix, waitReplicas: { replicas: 1, timeoutMs: 5_000 } });
    const job = await kept.enqueue("echo", {});
    expect(await deployment.node(deployment.ports[1]).hget(`{${prefix}}:job:${job.id}`, "id")).toBe(job.id);

    // two replicas asked of a master that has one: 503, and the job it wrote is there
    const short = new Queue("durable", { redis: client, prefix, waitReplicas: { replicas: 2, timeoutMs: 50 } });
    const refused = await short.enqueue("echo", {}, { id: "short-of-replicas" }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ReplicasBehindError);
    expect((refused as ReplicasBehindError).status).toBe(503);
    expect((refused as Error).message).toMatch(/1 of 2 replicas within 50 ms.*may have been applied/);
    expect((await kept.getJob("short-of-replicas"))?.status).toBe("queued");
  });

  it("leaves the replica wait to the gateway over REST, which answers 503 when the replicas fall short", async () => {
    const rest = new Upstash({ url: gateway.url, token: TOKEN, enableTelemetry: false });
    expect(() => new Queue("durable", { redis: rest, prefix, waitReplicas: { replicas: 1, timeoutMs: 50 } })).toThrow(
      /over REST, set EDGEQ_WAIT_REPLICAS on the gateway/,
    );
    const env = readRedisEnv({ EDGEQ_WAIT_REPLICAS: "2", EDGEQ_WAIT_TIMEOUT_MS: "50" });
    const sentinel = { nodes: deployment.sentinels, name: deployment.name };
    const strict = await startGateway({
      redisUrl: "redis://127.0.0.1",
      sentinel,
      waitReplicas: replicaWait(env),
      token: TOKEN,
      port: 0,
      logger: silent,
    });
    try {
      const queue = new Queue("durable", { redis: new Upstash({ url: strict.url, token: TOKEN }), prefix });
      const refused = await queue.enqueue("echo", {}, { id: "rest-short" }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ReplicasBehindError);
      expect((refused as Error).message).toMatch(/NOREPLICAS 1 of 2 replicas/);
      // it wrote on the master all the same
      const reader = new Queue("durable", { redis: new Upstash({ url: gateway.url, token: TOKEN }), prefix });
      expect((await reader.getJob("rest-short"))?.status).toBe("queued");
    } finally {
      await strict.close();
    }
  });

  it("follows a failover Sentinel makes: acknowledged enqueues are all on the new master", async () => {
    const waitReplicas = { replicas: 1, timeoutMs: 200 };
    const queue = new Queue("failover", { redis: client, prefix, waitReplicas });
    const rest = new Queue("failover", { redis: new Upstash({ url: gateway.url, token: TOKEN }), prefix });
    const before = await deployment.master();
    const ids: string[] = [];
    let refused = 0;
    let enqueuing = true;
    // an enqueue not acknowledged is sent again with its id until it is: what a producer of edgeq does
    const producing = (async () => {
      for (let i = 0; enqueuing; ) {
        const acknowledged = await queue.enqueue("echo", { i }, { id: `failover-${i}` }).then(
          (job) => job.id,
          (error: unknown) => {
            if (!(error instanceof ReplicasBehindError)) throw error;
            refused++;
          },
        );
        if (acknowledged) {
          ids.push(acknowledged);
          i++;
        }
      }
    })();
    await until("a few enqueues before the failover", 10_000, () => ids.length > 10);
    await deployment.failover();
    const after = await deployment.failedOver(before);
    await deployment.replicating(before);
    const later = ids.length;
    await until("enqueues to go on after the failover", 30_000, () => ids.length > later + 10);
    enqueuing = false;
    await producing;
    expect(((await client.call("ROLE")) as string[])[0]).toBe("master");
    console.log(`failover: ${ids.length} enqueues acknowledged, ${refused} refused for want of a replica`);
    // every enqueue that answered is on the new master; the gateway reads it there
    const newMaster = deployment.node(after);
    try {
      for (const id of ids) expect(await newMaster.hget(`{${prefix}}:job:${id}`, "id")).toBe(id);
    } finally {
      newMaster.disconnect();
    }
    expect((await rest.getJob(ids.at(-1)!))?.status).toBe("queued");
  });
});
