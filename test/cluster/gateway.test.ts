// The REST gateway in front of a real three-master Redis Cluster, through the
// real @upstash/redis client: keys on every shard, pipelines and transactions
// within and across slots, scripts on every node, edgeq's Queue on two shards
// with a worker finishing its jobs, pub/sub over server-sent events, and
// administration refused on every node by the user the gateway made there.
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import type { Cluster, Redis as IORedis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { Queue } from "../../shared/index.ts";
import { startGateway, type Gateway } from "../../worker-node/gateway/server.ts";
import { startRedisCluster, type RedisClusterHandle } from "../support/cluster.ts";
import { next, openStream, restCaller } from "../support/gateway.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { test, until } from "../support/worker.ts";

const TOKEN = `gw-${randomBytes(12).toString("hex")}`;
const SECOND_TOKEN = `gw-${randomBytes(12).toString("hex")}`;
const READ_TOKEN = `ro-${randomBytes(12).toString("hex")}`;
const prefix = uniquePrefix("gateway-cluster");
const silent = pino({ level: "silent" });

let cluster: RedisClusterHandle;
// The cluster as its default user, which may do anything.
let admin: Cluster;
let gateway: Gateway;
let redis: Redis;
/** One key on each master, in the order of cluster.ports. */
let keys: string[];
const rest = restCaller(() => ({ url: gateway.url, token: TOKEN }));

beforeAll(async () => {
  cluster = await startRedisCluster();
  admin = cluster.client();
  gateway = await startGateway({
    // lends only its credentials: none, the default user's
    redisUrl: "redis://127.0.0.1",
    clusterNodes: cluster.nodes,
    token: [TOKEN, SECOND_TOKEN],
    readOnlyToken: READ_TOKEN,
    port: 0,
    logger: silent,
  });
  redis = new Redis({ url: gateway.url, token: TOKEN });
  keys = await cluster.onEachMaster((i) => `${prefix}:key${i}`);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  admin?.disconnect();
  await cluster?.destroy();
});

/** The masters' own connections, to ask each node what only it knows. */
async function masters(): Promise<IORedis[]> {
  await admin.ping();
  return admin.nodes("master");
}

describe("the gateway in front of a Redis Cluster", () => {
  test("serves keys on every master, each command where its key lives", async () => {
    for (const [n, key] of keys.entries()) await redis.set(key, { n });
    // auto-pipelined: one request whose keys are on three masters
    expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(await Promise.all(keys.map((key) => admin.get(key)))).toEqual(['{"n":0}', '{"n":1}', '{"n":2}']);
    // one command whose own keys span slots is Redis's to refuse
    await expect(redis.mget(...keys)).rejects.toThrow(/CROSSSLOT Keys in request/);
  });

  test("answers each command of a pipeline whose keys span slots, in order", async () => {
    const [a, b, c] = keys as [string, string, string];
    const pipeline = redis.pipeline();
    pipeline.set(a, "first");
    pipeline.get(a);
    pipeline.lpush(a, "not a list");
    pipeline.set(b, "b");
    pipeline.set(a, "second");
    pipeline.get(a);
    pipeline.get(b);
    const results = await pipeline.exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual(["OK", "first", undefined, "OK", "OK", "second", "b"]);
    expect(results[2]?.error).toMatch(/^WRONGTYPE/);

    const raw = await rest(
      "/pipeline",
      [["SET", c, "v"], ["BLPOP", a, 0], ["FLUSHALL"], ["GET", c], ["GET", `${prefix}:missing`]],
      { base64: false },
    );
    expect(raw.status).toBe(200);
    expect(raw.json).toEqual([
      { result: "OK" },
      { error: expect.stringMatching(/BLPOP is a blocking command/) },
      { error: expect.stringMatching(/^NOPERM FLUSHALL/) },
      { result: "v" },
      { result: null },
    ]);
  });

  test("runs a pipeline whose keys share a slot as one, each command answered", async () => {
    const tagged = (name: string) => `{${prefix}-slot}:${name}`;
    const pipeline = redis.pipeline();
    pipeline.hset(tagged("h"), { f: "v" });
    pipeline.set(tagged("s"), "text");
    pipeline.incr(tagged("s"));
    pipeline.hgetall(tagged("h"));
    const results = await pipeline.exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual([1, "OK", undefined, { f: "v" }]);
    expect(results[2]?.error).toMatch(/not an integer/);
  });

  test("runs a transaction whose keys share a slot", async () => {
    const tagged = (name: string) => `{${prefix}-tx}:${name}`;
    expect(await redis.multi().set(tagged("n"), 1).incr(tagged("n")).hset(tagged("h"), { f: "v" }).exec()).toEqual([
      "OK",
      2,
      1,
    ]);
    expect(await admin.get(tagged("n"))).toBe("2");
  });

  test("refuses a transaction across slots as Redis Cluster does, and runs none of it", async () => {
    const spread = await cluster.onEachMaster((i) => `${prefix}:tx-spread${i}`);
    // another key on the first one's master, in another slot: one node, yet Redis refuses it too
    const [sameMaster] = await cluster.onEachMaster((i) => `${prefix}:tx-beside${i}`);
    const [first] = spread as [string];
    for (const other of [spread[1], spread[2], sameMaster]) {
      const res = await rest("/multi-exec", [
        ["SET", first, "x"],
        ["SET", other, "y"],
      ]);
      expect(res).toMatchObject({
        status: 400,
        json: { error: "CROSSSLOT Keys in request don't hash to the same slot" },
      });
    }
    await expect(
      redis
        .multi()
        .set(first, 1)
        .incr(spread[1] as string)
        .exec(),
    ).rejects.toThrow(/^CROSSSLOT/);
    for (const key of [...spread, sameMaster]) expect(await admin.exists(key as string)).toBe(0);

    const loading = await rest("/multi-exec", [["SCRIPT", "LOAD", "return 1"]]);
    expect(loading).toMatchObject({ status: 400, json: { error: expect.stringMatching(/SCRIPT LOAD runs on every/) } });
  });

  test("loads scripts on every master, combines keyless answers, and refuses SCAN", async () => {
    const body = `-- ${prefix} loaded\nreturn KEYS[1]`;
    const sha = await redis.scriptLoad(body);
    for (const key of keys) expect(await redis.evalsha(sha, [key], [])).toBe(key);

    // Without SCRIPT LOAD, a master that lacks a script answers NOSCRIPT and
    // the client's Script falls back to EVAL there; EXISTS holds once all have it.
    const script = redis.createScript<string>(`-- ${prefix} lazily\nreturn KEYS[1]`);
    expect(await script.exec([keys[0] as string], [])).toBe(keys[0]);
    expect(await redis.scriptExists(script.sha1)).toEqual([0]);
    for (const key of keys.slice(1)) expect(await script.exec([key], [])).toBe(key);
    expect(await redis.scriptExists(script.sha1, sha)).toEqual([1, 1]);

    const sizes = await Promise.all((await masters()).map((node) => node.dbsize()));
    expect(sizes.every((size) => size > 0)).toBe(true);
    expect(await redis.dbsize()).toBe(sizes.reduce((sum, size) => sum + size, 0));
    expect(await redis.ping()).toBe("PONG");
    await expect(redis.scan(0)).rejects.toThrow(/SCAN walks one node of a Redis Cluster/);
  });

  test("serves edgeq's Queue on two shards, whose jobs a worker on the cluster finishes", async ({ workers }) => {
    const [a, b] = (await cluster.onEachMaster((i) => `{${prefix}-q${i}}`)).map((tag) => tag.slice(1, -1));
    const queues = [a, b].map((shard) => new Queue("default", { redis, prefix: shard }));
    const enqueued = await Promise.all(
      queues.map((queue, i) => queue.enqueueMany([1, 2].map((n) => ({ task: "echo", args: { shard: i, n } })))),
    );
    const worker = await workers.start({
      redis: admin as never,
      redisUrl: "redis://127.0.0.1:1",
      prefix: `${a},${b}`,
      env: { REDIS_CLUSTER_NODES: cluster.nodes.join(",") },
      noWait: true,
    });
    // waitFor listens over SSE through the gateway, and reads the jobs over REST
    const ended = await Promise.all(
      queues.flatMap((queue, i) => enqueued[i]!.map((job) => queue.waitFor(job.id, { timeoutMs: 30_000 }))),
    );
    expect(
      ended.map((job) => [job.status, job.result]),
      worker.output,
    ).toEqual([
      ["finished", { shard: 0, n: 1 }],
      ["finished", { shard: 0, n: 2 }],
      ["finished", { shard: 1, n: 1 }],
      ["finished", { shard: 1, n: 2 }],
    ]);
  });

  test("delivers what any master publishes to subscriptions over server-sent events", async () => {
    const channel = `${prefix}:news`;
    const subscriber = redis.subscribe(channel);
    const reader = new Redis({ url: gateway.url, token: READ_TOKEN }).subscribe(channel);
    await Promise.all([next(subscriber, "subscribe"), next(reader, "subscribe")]);
    // whichever node a subscription is on, the cluster passes every node's messages on to it
    for (const node of await masters()) {
      const heard = Promise.all([next(subscriber, "message"), next(reader, "message")]);
      await node.publish(channel, JSON.stringify({ from: node.options.port }));
      const message = { channel, message: { from: node.options.port } };
      expect(await heard).toEqual([message, message]);
    }
    const heard = next(subscriber, "message");
    await redis.publish(channel, "through the gateway");
    expect(await heard).toEqual({ channel, message: "through the gateway" });
    await Promise.all([subscriber.unsubscribe(), reader.unsubscribe()]);
  });

  test("refuses administration on every master, by name and inside scripts, as the user it made there", async () => {
    await expect(redis.flushall()).rejects.toThrow(/^NOPERM FLUSHALL is server administration/);
    for (const key of keys) {
      await redis.set(key, "kept");
      // EVAL goes where its first key lives: once on each master
      await expect(redis.eval("return redis.call('FLUSHALL')", [key], [])).rejects.toThrow(/can't run this command/);
    }
    for (const node of await masters()) {
      expect(await node.call("ACL", "DRYRUN", "edgeq-gateway", "FLUSHALL")).toMatch(/no permissions/);
      const clients = ((await node.call("CLIENT", "LIST")) as string).split("\n");
      expect(clients.filter((line) => line.includes(" user=edgeq-gateway ")).length).toBeGreaterThan(0);
      expect(clients.filter((line) => line.includes(" name=edgeq-gateway") && line.includes(" user=default "))).toEqual(
        [],
      );
    }
    for (const key of keys) expect(await admin.get(key)).toBe("kept");
  });

  test("will not start on a user that may administer some nodes and not others", async () => {
    const nodes = await masters();
    for (const [i, node] of nodes.entries()) {
      const rules = i === 0 ? ["+@all"] : ["+@all", "-@admin", "-@dangerous"];
      await node.call("ACL", "SETUSER", "uneven", "reset", "on", ">pw", "~*", "&*", ...rules);
    }
    const uneven = startGateway({
      redisUrl: "redis://uneven:pw@127.0.0.1",
      clusterNodes: cluster.nodes,
      token: TOKEN,
      port: 0,
      logger: silent,
    });
    await expect(uneven).rejects.toThrow(/may run \S+ on some nodes of the cluster but not on 127\.0\.0\.1:\d+/);
  });

  test("keeps tokens, read-only tokens and the body limit as in front of one Redis", async () => {
    const [a, b] = keys as [string, string];
    await redis.set(a, "kept");
    expect(await new Redis({ url: gateway.url, token: SECOND_TOKEN }).get(a)).toBe("kept");
    expect((await rest("/", ["GET", a], { token: "wrong" })).status).toBe(401);

    const reader = new Redis({ url: gateway.url, token: READ_TOKEN });
    expect(await reader.get(a)).toBe("kept");
    await expect(reader.set(a, "changed")).rejects.toThrow(/may only read, and SET is not a read-only/);
    const piped = await rest(
      "/pipeline",
      [
        ["GET", a],
        ["DEL", b],
        ["GET", b],
      ],
      { token: READ_TOKEN, base64: false },
    );
    expect(piped.json[0]).toEqual({ result: "kept" });
    expect(piped.json[1].error).toMatch(/may only read, and DEL/);

    const over = await rest("/", ["SET", b, "x".repeat(1024 * 1024)]);
    expect(over.status).toBe(413);
  });

  test("ends the subscriptions of a master that stays away, and makes its user there again once back", async () => {
    const stream = await openStream(gateway.url, `/subscribe/${prefix}:away`, TOKEN);
    await stream.readTo("\n\n");
    const holding: number[] = [];
    for (const node of await masters()) {
      const clients = (await node.call("CLIENT", "LIST")) as string;
      if (clients.includes(" name=edgeq-gateway-subscriber ")) holding.push(node.options.port as number);
    }
    expect(holding).toHaveLength(1);
    const [port] = holding as [number];
    await cluster.stop(port);
    try {
      // no sooner than a restart would take: the stream outlives one
      await stream.readTo("the end");
      expect(await stream.ended()).toBe(true);
    } finally {
      await cluster.start(port);
    }
    // AOF kept its keys; its users it forgot
    const key = keys[cluster.ports.indexOf(port)] as string;
    await until("the gateway to reach the restarted master", 30_000, () => redis.set(key, "back").catch(() => null));
    expect(await admin.get(key)).toBe("back");
    await expect(redis.eval("return redis.call('FLUSHALL')", [key], [])).rejects.toThrow(/can't run this command/);
  });
});
