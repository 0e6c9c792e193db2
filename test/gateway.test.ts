// The gateway against the real @upstash/redis client (default options:
// auto-pipelining, base64 responses, read-your-writes) and raw fetch for the
// protocol itself, in front of the run's redis-server; tests that change the
// server's users or restart it start a redis-server of their own.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULTS } from "../shared/defaults.ts";
import { Queue } from "../shared/index.ts";
import { ConfigError } from "../shared/settings.ts";
import { readGatewayEnv } from "../worker-node/config.ts";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { next, openStream, restCaller } from "./support/gateway.ts";
import { type RedisServer, startRedisServer } from "./support/redis.ts";
import { uniquePrefix } from "./support/prefixes.ts";
import { until } from "./support/worker.ts";

const TOKEN = `gw-${randomBytes(12).toString("hex")}`;
const READ_TOKEN = `ro-${randomBytes(12).toString("hex")}`;
const silent = pino({ level: "silent" });
const prefix = uniquePrefix("gateway");
const key = (name: string) => `${prefix}:${name}`;
const b64 = (text: string) => Buffer.from(text).toString("base64");

let gateway: Gateway;
let redis: Redis;
// The run's redis-server as its default user, which may do anything.
let tcp: IORedis;

beforeAll(async () => {
  gateway = await startGateway({
    redisUrl: inject("redisUrl"),
    token: TOKEN,
    readOnlyToken: READ_TOKEN,
    port: 0,
    logger: silent,
  });
  redis = new Redis({ url: gateway.url, token: TOKEN });
  tcp = new IORedis(inject("redisUrl"));
});

afterAll(async () => {
  await gateway?.close();
  for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
    const keys = await tcp.keys(pattern);
    if (keys.length > 0) await tcp.del(...keys);
  }
  await tcp?.quit();
});

const rest = restCaller(() => ({ url: gateway.url, token: TOKEN }));

describe("values through the @upstash/redis client", () => {
  it("round-trips strings that look like base64 or JSON without decoding them twice", async () => {
    await redis.set(key("b64"), "SGVsbG8=");
    expect(await redis.get(key("b64"))).toBe("SGVsbG8=");

    await redis.set(key("json-text"), '{"a":1}');
    // The client parses JSON-looking strings itself, as it does against Upstash…
    expect(await redis.get(key("json-text"))).toEqual({ a: 1 });
    // …but the gateway hands back the stored text, byte for byte.
    const raw = new Redis({ url: gateway.url, token: TOKEN, automaticDeserialization: false });
    expect(await raw.get(key("json-text"))).toBe('{"a":1}');
  });

  it("keeps numbers as numbers and integer replies as JSON numbers", async () => {
    await redis.set(key("n"), 42);
    expect(await redis.get(key("n"))).toBe(42);
    expect(await redis.incr(key("n"))).toBe(43);
    const res = await rest("/", ["INCRBY", key("n"), 7]);
    expect(res.text).toBe('{"result":50}');
  });

  it("keeps integers beyond 2^53 exact", async () => {
    await redis.set(key("big"), "9007199254740993");
    expect(await redis.get(key("big"))).toBe("9007199254740993");
    // An integer reply keeps every digit in the JSON text.
    const res = await rest("/", ["INCRBY", key("big"), "2"]);
    expect(res.text).toBe('{"result":9007199254740995}');
  });

  it("tells an empty string from a missing key", async () => {
    await redis.set(key("empty"), "");
    expect(await redis.get(key("empty"))).toBe("");
    expect(await redis.get(key("missing"))).toBeNull();
  });

  it("round-trips unicode", async () => {
    const text = "héllo wörld 😀 日本語 中文 🇯🇵";
    await redis.set(key("unicode"), text);
    expect(await redis.get(key("unicode"))).toBe(text);
  });

  it("round-trips JSON objects with automatic serialization", async () => {
    const job = { id: "j1", args: { n: 1, list: [1, "two", null], nested: { ok: true } }, text: "日本" };
    await redis.set(key("obj"), job);
    expect(await redis.get(key("obj"))).toEqual(job);
  });

  it("reads hashes back as objects", async () => {
    await redis.hset(key("hash"), { name: "edgeq", count: 3, meta: { a: [1, 2] }, empty: "" });
    expect(await redis.hgetall(key("hash"))).toEqual({ name: "edgeq", count: 3, meta: { a: [1, 2] }, empty: "" });
    // The client sends HGETALL alone; in a pipeline it must keep the same flat shape.
    const res = await rest(
      "/pipeline",
      [
        ["hgetall", key("hash")],
        ["hlen", key("hash")],
      ],
      { base64: false },
    );
    expect(res.json).toEqual([
      { result: ["name", "edgeq", "count", "3", "meta", '{"a":[1,2]}', "empty", ""] },
      { result: 4 },
    ]);
  });

  it("returns sorted sets WITHSCORES as one flat array", async () => {
    await redis.zadd(key("zset"), { score: 1, member: "a" }, { score: 2.5, member: "b" });
    expect(await redis.zrange(key("zset"), 0, -1, { withScores: true })).toEqual(["a", 1, "b", 2.5]);
    const res = await rest("/", ["ZRANGE", key("zset"), 0, -1, "WITHSCORES"]);
    expect(res.json).toEqual({ result: [b64("a"), b64("1"), b64("b"), b64("2.5")] });
  });

  it("returns HRANDFIELD WITHVALUES flat, as RESP2 does", async () => {
    await redis.hset(key("one-field"), { f: "v" });
    const res = await rest("/", ["HRANDFIELD", key("one-field"), 1, "WITHVALUES"]);
    expect(res.json).toEqual({ result: [b64("f"), b64("v")] });
  });

  it("adds to and reads streams", async () => {
    const id = await redis.xadd(key("stream"), "*", { field: "value", n: 1 });
    expect(id).toMatch(/^\d+-\d+$/);
    expect(await redis.xrange(key("stream"), "-", "+")).toEqual({ [id]: { field: "value", n: 1 } });
    const res = await rest("/", ["XREAD", "COUNT", 10, "STREAMS", key("stream"), "0"]);
    expect(res.json).toEqual({
      result: [[b64(key("stream")), [[b64(id), [b64("field"), b64("value"), b64("n"), b64("1")]]]]],
    });
  });

  it("is binary-safe: bytes that are not UTF-8 survive base64", async () => {
    await rest("/", ["EVAL", "redis.call('SET', KEYS[1], string.char(255, 0, 254, 128))", 1, key("bin")]);
    const res = await rest("/", ["GET", key("bin")]);
    expect(Buffer.from(res.json.result, "base64")).toEqual(Buffer.from([255, 0, 254, 128]));
  });

  it("answers plain UTF-8 when the client asks for no encoding", async () => {
    const plain = new Redis({ url: gateway.url, token: TOKEN, responseEncoding: false });
    await plain.set(key("plain"), "ünïcode ✓");
    expect(await plain.get(key("plain"))).toBe("ünïcode ✓");
    const res = await rest("/", ["GET", key("plain")], { base64: false });
    expect(res.json).toEqual({ result: "ünïcode ✓" });
    expect((await rest("/", ["SET", key("plain"), "x"], { base64: false })).json).toEqual({ result: "OK" });
  });
});

describe("pipelines and transactions", () => {
  it("runs every command of a pipeline even when one in the middle fails", async () => {
    const pipeline = redis.pipeline();
    pipeline.set(key("p1"), "one");
    pipeline.lpush(key("p1"), "not a list");
    pipeline.set(key("p2"), "two");
    const results = await pipeline.exec({ keepErrors: true });
    expect(results[0]).toEqual({ result: "OK", error: undefined });
    expect(results[1]?.error).toMatch(/^WRONGTYPE/);
    expect(results[2]).toEqual({ result: "OK", error: undefined });
    expect(await redis.get(key("p2"))).toBe("two");
  });

  it("fails only the failing call of an auto-pipelined batch", async () => {
    await redis.set(key("ap"), "text");
    const [incr, get] = await Promise.allSettled([redis.incr(key("ap")), redis.get(key("ap"))]);
    expect(incr.status).toBe("rejected");
    expect((incr as PromiseRejectedResult).reason.message).toMatch(/not an integer/);
    expect(get).toEqual({ status: "fulfilled", value: "text" });
  });

  it("answers /pipeline with one result or error per command", async () => {
    const res = await rest("/pipeline", [
      ["SET", key("raw-p"), "v"],
      ["LPUSH", key("raw-p"), "x"],
      ["GET", key("raw-p")],
      ["BLPOP", key("raw-p"), 0],
    ]);
    expect(res.status).toBe(200);
    expect(res.json).toHaveLength(4);
    expect(res.json[0]).toEqual({ result: "OK" });
    expect(res.json[1].error).toMatch(/^WRONGTYPE/);
    expect(res.json[2]).toEqual({ result: b64("v") });
    expect(res.json[3].error).toMatch(/BLPOP/);
  });

  it("runs multi-exec as one transaction", async () => {
    const results = await redis.multi().set(key("tx"), 1).incr(key("tx")).get(key("tx")).exec();
    expect(results).toEqual(["OK", 2, 2]);
  });

  it("reports a command that fails inside EXEC in its own slot", async () => {
    const res = await rest("/multi-exec", [
      ["SET", key("tx-run"), "s"],
      ["LPUSH", key("tx-run"), "x"],
      ["GET", key("tx-run")],
    ]);
    expect(res.status).toBe(200);
    expect(res.json[0]).toEqual({ result: "OK" });
    expect(res.json[1].error).toMatch(/^WRONGTYPE/);
    expect(res.json[2]).toEqual({ result: b64("s") });
  });

  it("refuses a transaction that Redis discards as a whole, and applies none of it", async () => {
    const res = await rest("/multi-exec", [
      ["SET", key("tx-abort"), "v"],
      ["NOSUCHCOMMAND", "x"],
    ]);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/^EXECABORT/);
    expect(res.json.error).toMatch(/unknown command/);
    expect(await redis.exists(key("tx-abort"))).toBe(0);

    const blocked = await rest("/multi-exec", [
      ["SET", key("tx-abort"), "v"],
      ["BLPOP", key("q"), 0],
    ]);
    expect(blocked.status).toBe(400);
    expect(blocked.json.error).toMatch(/BLPOP/);
    expect(await redis.exists(key("tx-abort"))).toBe(0);
  });
});

describe("scripts", () => {
  it("passes NOSCRIPT through so the client's Script falls back to EVAL", async () => {
    // A body no other run has loaded, so its SHA is unknown to Redis.
    const body = `-- ${prefix}\nreturn {KEYS[1], ARGV[1], 7}`;
    const sha = createHash("sha1").update(body).digest("hex");
    await expect(redis.evalsha(sha, [], [])).rejects.toThrow(/NOSCRIPT/);

    const script = redis.createScript<[string, string, number]>(body);
    expect(await script.exec([key("s")], ["arg"])).toEqual([key("s"), "arg", 7]);
    // The fallback ran EVAL, which cached the script: EVALSHA works now.
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(await redis.evalsha(sha, [key("s")], ["again"])).toEqual([key("s"), "again", 7]);
  });
});

describe("protocol", () => {
  it("refuses a wrong or missing token with 401", async () => {
    for (const token of ["wrong", `${TOKEN}x`, TOKEN.slice(0, -1), ""]) {
      const res = await rest("/", ["PING"], { token });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: "Unauthorized" });
    }
    const missing = await rest("/", ["PING"], { token: null });
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ error: "Unauthorized" });

    const intruder = new Redis({ url: gateway.url, token: "wrong", enableAutoPipelining: false });
    await expect(intruder.get(key("n"))).rejects.toThrow(/Unauthorized/);
  });

  it("answers 400 to a body that is not JSON", async () => {
    const res = await rest("/", undefined, { rawBody: '["GET", "k"' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/JSON/);
  });

  it("answers 400 to JSON that is not a command", async () => {
    const bodies: [string, unknown][] = [
      ["/", { command: "GET" }],
      ["/", []],
      ["/", ["SET", key("x"), { a: 1 }]],
      ["/", ["SET", key("x"), null]],
      ["/pipeline", ["GET", key("x")]],
      ["/pipeline", []],
      ["/multi-exec", [["GET", key("x")], "GET"]],
    ];
    for (const [path, body] of bodies) {
      const res = await rest(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(typeof res.json.error).toBe("string");
    }
  });

  it("sends numbers and booleans to Redis as their string forms", async () => {
    await rest("/", ["RPUSH", key("forms"), 1.5, true, false, -3]);
    const res = await rest("/", ["LRANGE", key("forms"), 0, -1], { base64: false });
    expect(res.json).toEqual({ result: ["1.5", "true", "false", "-3"] });
  });

  it("tolerates a content type other than JSON when the body is JSON", async () => {
    const res = await rest("/", ["ECHO", "hi"], { contentType: "text/plain" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ result: b64("hi") });
  });

  it("answers 413 to a body over the limit and accepts one under it", async () => {
    const over = await rest("/", ["SET", key("huge"), "x".repeat(1024 * 1024)]);
    expect(over.status).toBe(413);
    expect(over.json.error).toMatch(/exceeds/);
    expect(await redis.exists(key("huge"))).toBe(0);

    const under = await rest("/", ["SET", key("huge"), "x".repeat(512 * 1024)]);
    expect(under.status).toBe(200);
    expect(await redis.strlen(key("huge"))).toBe(512 * 1024);
  });

  it("honours a configured body limit", async () => {
    const small = await startGateway({
      redisUrl: inject("redisUrl"),
      token: TOKEN,
      port: 0,
      maxBodyBytes: 64,
      logger: silent,
    });
    try {
      const over = await rest("/", ["SET", key("small"), "y".repeat(64)], { url: small.url });
      expect(over.status).toBe(413);
      const under = await rest("/", ["SET", key("small"), "y"], { url: small.url });
      expect(under.json).toEqual({ result: "OK" });
    } finally {
      await small.close();
    }
  });

  it("refuses blocking and connection-state commands at once with a 400 naming them", async () => {
    const refused: unknown[][] = [
      ["BLPOP", key("q"), 0],
      ["BRPOP", key("q"), 0],
      ["BLMOVE", key("q"), key("q2"), "LEFT", "RIGHT", 0],
      ["BZPOPMIN", key("z"), 0],
      ["WAIT", 1, 0],
      ["XREAD", "BLOCK", 0, "STREAMS", key("stream"), "$"],
      ["XREADGROUP", "GROUP", "g", "c", "COUNT", 1, "BLOCK", 0, "STREAMS", key("stream"), ">"],
      ["SUBSCRIBE", key("ch")],
      ["MONITOR"],
      ["SELECT", 1],
      ["QUIT"],
      ["MULTI"],
    ];
    for (const command of refused) {
      const res = await rest("/", command);
      expect(res.status, String(command[0])).toBe(400);
      expect(res.json.error).toContain(String(command[0]));
    }
    // BLOCK after STREAMS is a stream's name, not the option.
    const notBlocking = await rest("/", ["XREAD", "COUNT", 1, "STREAMS", key("block"), "0"]);
    expect(notBlocking).toMatchObject({ status: 200, json: { result: null } });
  });

  it("answers 400 with Redis's own message for a Redis error", async () => {
    await redis.set(key("str"), "text");
    const res = await rest("/", ["LPUSH", key("str"), "x"]);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: "WRONGTYPE Operation against a key holding the wrong kind of value" });
  });

  it("sends a sync token that changes on every response", async () => {
    const tokens = new Set<string>();
    for (const body of [["PING"], ["PING"], ["NOSUCHCOMMAND"]]) {
      const res = await rest("/", body);
      expect(res.syncToken).toBeTruthy();
      tokens.add(res.syncToken as string);
    }
    const unauthorized = await rest("/", ["PING"], { token: "wrong" });
    tokens.add(unauthorized.syncToken as string);
    expect(tokens.size).toBe(4);

    const before = redis.readYourWritesSyncToken;
    await redis.set(key("ryw"), 1);
    const after = redis.readYourWritesSyncToken;
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    expect(await redis.get(key("ryw"))).toBe(1);
    expect(redis.readYourWritesSyncToken).not.toBe(after);
  });

  it("answers 404 to an unknown path and runs GET path commands", async () => {
    const res = await rest("/nope", ["PING"]);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: "Not found" });

    await redis.set(key("path cmd"), "via path");
    const got = await rest(`/get/${encodeURIComponent(key("path cmd"))}`, undefined, { method: "GET" });
    expect(got.json).toEqual({ result: b64("via path") });
  });
});

// A TCP relay between the gateway and Redis that can hold Redis's replies,
// so a request is provably in flight while the gateway shuts down.
async function startRelay(target: string) {
  const { hostname, port } = new URL(target);
  let holding = false;
  const held: [Socket, Buffer][] = [];
  const sockets = new Set<Socket>();
  let onClientData: ((chunk: Buffer) => void) | undefined;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => {
      onClientData?.(chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => (holding ? held.push([client, chunk]) : client.write(chunk)));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      for (const [client, chunk] of held.splice(0)) client.write(chunk);
    },
    /** Resolves once the gateway has written `marker` towards Redis. */
    seen: (marker: string) =>
      new Promise<void>((resolve) => {
        onClientData = (chunk) => {
          if (chunk.includes(marker)) resolve();
        };
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

describe("graceful shutdown", () => {
  it("stops accepting, finishes the request in flight, then resolves", async () => {
    const relay = await startRelay(inject("redisUrl"));
    const gw = await startGateway({ redisUrl: relay.url, token: TOKEN, port: 0, poolSize: 1, logger: silent });
    try {
      relay.hold();
      const seen = relay.seen(key("inflight"));
      const inFlight = rest("/", ["SET", key("inflight"), "done"], { url: gw.url });
      await seen;

      let closed = false;
      const closing = gw.close().then(() => (closed = true));
      await expect(rest("/", ["PING"], { url: gw.url })).rejects.toThrow();
      expect(closed).toBe(false);

      relay.release();
      const res = await inFlight;
      expect(res).toMatchObject({ status: 200, json: { result: "OK" } });
      await closing;
      expect(closed).toBe(true);
      expect(await redis.get(key("inflight"))).toBe("done");
    } finally {
      await gw.close();
      await relay.close();
    }
  });
});

/** Lines of `CLIENT LIST` for the connections of one name. */
async function clientsNamed(direct: IORedis, name: string): Promise<string[]> {
  const list = (await direct.call("CLIENT", "LIST")) as string;
  return list.split("\n").filter((line) => line.includes(` name=${name} `));
}

describe("server administration", () => {
  // A redis-server of its own, whose default user may do anything, as the
  // one `npm run dev` starts; the gateway is started with the default settings.
  let server: RedisServer;
  let admin: IORedis;
  let gw: Gateway;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new IORedis(server.url);
    gw = await startGateway({ redisUrl: server.url, token: TOKEN, port: 0, logger: silent });
    client = new Redis({ url: gw.url, token: TOKEN });
  });

  afterAll(async () => {
    await gw?.close();
    await admin?.quit();
    await server?.destroy();
  });

  it("refuses FLUSHALL directly, in a pipeline, in a transaction and by path, and the keys stay", async () => {
    await admin.set("kept", "yes");
    await expect(client.flushall()).rejects.toThrow(/NOPERM FLUSHALL is server administration/);

    const direct = await rest("/", ["FLUSHALL"], { url: gw.url });
    expect(direct).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^NOPERM FLUSHALL/) } });
    const piped = await rest("/pipeline", [["FLUSHDB"], ["GET", "kept"]], { url: gw.url, base64: false });
    expect(piped.json[0].error).toMatch(/^NOPERM FLUSHDB/);
    expect(piped.json[1]).toEqual({ result: "yes" });
    const tx = await rest("/multi-exec", [["SET", "tx", "1"], ["FLUSHALL"]], { url: gw.url });
    expect(tx.status).toBe(400);
    const byPath = await rest("/flushall", undefined, { url: gw.url, method: "GET" });
    expect(byPath.status).toBe(400);

    expect(await admin.get("kept")).toBe("yes");
    expect(await admin.exists("tx")).toBe(0);
  });

  it("refuses administration inside scripts too, where no list of names can look", async () => {
    await admin.set("kept", "yes");
    const scripts = [
      "return redis.call('FLUSHALL')",
      "return redis.pcall('FLUSHDB')",
      "return redis.call('SWAPDB', 0, 1)",
      "return redis.call('KEYS', '*')",
      "return redis.call('INFO')",
    ];
    for (const script of scripts) {
      const res = await rest("/", ["EVAL", script, 0], { url: gw.url, base64: false });
      expect(res.status, script).toBe(400);
      expect(res.json.error, script).toMatch(/can't run this command/);
    }
    await expect(client.eval("return redis.call('FLUSHALL')", [], [])).rejects.toThrow(/can't run this command/);
    expect(await admin.get("kept")).toBe("yes");
  });

  it("refuses every command Redis counts as administration by name, before Redis sees it", async () => {
    const listed = (await admin.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin")) as string[];
    const names = new Set(listed.map((name) => (name.split("|")[0] as string).toUpperCase()));
    expect(names.size).toBeGreaterThan(10);
    for (const name of names) {
      const res = await rest("/", [name], { url: gw.url });
      expect(res.status, name).toBe(400);
      expect(res.json.error, name).toContain(name);
      expect(res.json.error, name).toContain("REST gateway");
    }
  });

  it("runs edgeq's scripts, PUBLISH included, as its restricted user", async () => {
    const queue = new Queue("default", { redis: client, prefix });
    const job = await queue.enqueue("echo", { hello: "world" });
    const listener = admin.duplicate();
    await listener.subscribe(queue.keys.events(job.id));
    const published = once(listener, "message");
    expect((await queue.cancel(job.id)).status).toBe("canceled");
    // an ending someone listens for is published with the job (to_terminal.lua)
    const [channel, message] = await published;
    expect(channel).toBe(queue.keys.events(job.id));
    expect(message).toMatch(/^canceled \{/);
    await listener.quit();
  });

  it("connects as a user Redis denies administration, made through REDIS_URL's", async () => {
    const connections = await clientsNamed(admin, "edgeq-gateway");
    expect(connections.length).toBeGreaterThan(0);
    for (const line of connections) expect(line).toContain(" user=edgeq-gateway ");
    expect(await admin.call("ACL", "DRYRUN", "edgeq-gateway", "FLUSHALL")).toMatch(/no permissions/);
    expect(await admin.call("ACL", "DRYRUN", "edgeq-gateway", "EVALSHA", "0".repeat(40), "0")).toBe("OK");
  });

  it("makes its user again when a restarted Redis has forgotten it", async () => {
    await server.stop();
    await server.start();
    await until("the gateway to serve again", 20_000, () => client.set("after-restart", "back").catch(() => null));
    expect(await admin.get("after-restart")).toBe("back");
    await expect(client.eval("return redis.call('FLUSHALL')", [], [])).rejects.toThrow(/can't run this command/);
  });
});

describe("the gateway's Redis user, as the operator gives it", () => {
  let server: RedisServer;
  let admin: IORedis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new IORedis(server.url);
  });

  afterAll(async () => {
    await admin?.quit();
    await server?.destroy();
  });

  it("uses a user made with the README's ACL SETUSER line as it is, and makes none", async () => {
    // README, "The gateway's Redis user".
    const line = "ACL SETUSER edgeq-gw reset on >operator-chosen-password ~* &* +@all -@admin -@dangerous";
    await admin.call(...(line.split(" ") as [string, ...string[]]));
    const url = new URL(server.url);
    url.username = "edgeq-gw";
    url.password = "operator-chosen-password";
    const gw = await startGateway({ redisUrl: url.toString(), token: TOKEN, port: 0, logger: silent });
    try {
      const client = new Redis({ url: gw.url, token: TOKEN });
      await client.set("operator", "ok");
      expect(await client.get("operator")).toBe("ok");
      await expect(client.eval("return redis.call('FLUSHALL')", [], [])).rejects.toThrow(/can't run this command/);
      for (const connection of await clientsNamed(admin, "edgeq-gateway"))
        expect(connection).toContain(" user=edgeq-gw ");
      expect(await admin.call("ACL", "USERS")).not.toContain("edgeq-gateway");
    } finally {
      await gw.close();
    }
  });

  it("will not start on a user that may administer Redis but cannot make another", async () => {
    await admin.call("ACL", "SETUSER", "half-admin", "reset", "on", ">pw", "~*", "&*", "+@all", "-@admin");
    const url = new URL(server.url);
    url.username = "half-admin";
    url.password = "pw";
    await expect(startGateway({ redisUrl: url.toString(), token: TOKEN, port: 0, logger: silent })).rejects.toThrow(
      /may run \S+ and cannot make a restricted user .*GATEWAY_ACL=off/,
    );
    expect(await admin.call("ACL", "USERS")).not.toContain("edgeq-gateway");
  });

  it("with GATEWAY_ACL=off uses REDIS_URL's user as it is, and still refuses administration by name", async () => {
    const gw = await startGateway({ redisUrl: server.url, token: TOKEN, acl: "off", port: 0, logger: silent });
    try {
      for (const connection of await clientsNamed(admin, "edgeq-gateway"))
        expect(connection).toContain(" user=default ");
      expect((await rest("/", ["FLUSHALL"], { url: gw.url })).status).toBe(400);
    } finally {
      await gw.close();
    }
  });
});

describe("tokens", () => {
  it("accepts every token listed, so that one can be rotated out without downtime", async () => {
    const [old, next] = [randomBytes(16).toString("hex"), randomBytes(16).toString("hex")];
    const both = await startGateway({ redisUrl: inject("redisUrl"), token: [old, next], port: 0, logger: silent });
    try {
      await new Redis({ url: both.url, token: old }).set(key("rotation"), "old");
      expect(await new Redis({ url: both.url, token: next }).get(key("rotation"))).toBe("old");
    } finally {
      await both.close();
    }
    const rotated = await startGateway({ redisUrl: inject("redisUrl"), token: next, port: 0, logger: silent });
    try {
      expect((await rest("/", ["GET", key("rotation")], { url: rotated.url, token: old })).status).toBe(401);
      expect((await rest("/", ["GET", key("rotation")], { url: rotated.url, token: next })).status).toBe(200);
    } finally {
      await rotated.close();
    }
  });

  it("serves reads to a read-only token and refuses its writes, inside scripts too", async () => {
    const reader = new Redis({ url: gateway.url, token: READ_TOKEN });
    await redis.set(key("ro"), "kept");
    expect(await reader.get(key("ro"))).toBe("kept");
    expect(await reader.evalRo("return redis.call('GET', KEYS[1])", [key("ro")], [])).toBe("kept");

    await expect(reader.set(key("ro"), "changed")).rejects.toThrow(/may only read, and SET is not a read-only/);
    await expect(reader.eval("return redis.call('SET', KEYS[1], 'x')", [key("ro")], [])).rejects.toThrow(/EVAL/);
    await expect(reader.evalRo("return redis.call('SET', KEYS[1], 'x')", [key("ro")], [])).rejects.toThrow(
      /Write commands are not allowed from read-only scripts/,
    );
    await expect(reader.evalRo("return redis.call('PUBLISH', KEYS[1], 'x')", [key("ro")], [])).rejects.toThrow(
      /Write commands are not allowed from read-only scripts/,
    );
    const piped = await rest(
      "/pipeline",
      [
        ["GET", key("ro")],
        ["DEL", key("ro")],
        ["PUBLISH", key("ch"), "stop"],
      ],
      {
        token: READ_TOKEN,
        base64: false,
      },
    );
    expect(piped.json[0]).toEqual({ result: "kept" });
    expect(piped.json[1].error).toMatch(/may only read, and DEL/);
    expect(piped.json[2].error).toMatch(/may only read, and PUBLISH/);
    const tx = await rest(
      "/multi-exec",
      [
        ["GET", key("ro")],
        ["DEL", key("ro")],
      ],
      { token: READ_TOKEN },
    );
    expect(tx.status).toBe(400);
    const byPath = await rest(`/del/${encodeURIComponent(key("ro"))}`, undefined, { token: READ_TOKEN, method: "GET" });
    expect(byPath.status).toBe(400);

    expect(await redis.get(key("ro"))).toBe("kept");
  });

  it("refuses a token given both full and read-only access", async () => {
    await expect(
      startGateway({ redisUrl: inject("redisUrl"), token: [TOKEN], readOnlyToken: TOKEN, port: 0, logger: silent }),
    ).rejects.toThrow(/both full and read-only/);
  });

  it("never writes a token to the log, even at debug level", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
    const gw = await startGateway({
      redisUrl: inject("redisUrl"),
      token: TOKEN,
      readOnlyToken: READ_TOKEN,
      port: 0,
      logger,
    });
    try {
      await rest("/", ["SET", key("logged"), "v"], { url: gw.url });
      await rest(`/get/${encodeURIComponent(key("logged"))}`, undefined, {
        url: gw.url,
        method: "GET",
        token: READ_TOKEN,
      });
      await rest("/", ["GET", key("logged")], { url: gw.url, token: `${TOKEN}-wrong` });
    } finally {
      await gw.close();
    }
    expect(lines.filter((line) => line.includes('"msg":"request"'))).toHaveLength(3);
    for (const token of [TOKEN, READ_TOKEN]) expect(lines.join("")).not.toContain(token);
  });

  it("reads several comma-separated tokens from GATEWAY_TOKEN and GATEWAY_READONLY_TOKEN", () => {
    expect(readGatewayEnv({ GATEWAY_TOKEN: "old-token, new-token", GATEWAY_READONLY_TOKEN: "reader" })).toMatchObject({
      GATEWAY_TOKEN: ["old-token", "new-token"],
      GATEWAY_READONLY_TOKEN: ["reader"],
    });
    expect(readGatewayEnv({ GATEWAY_TOKEN: "only" })).toMatchObject({
      GATEWAY_TOKEN: ["only"],
      GATEWAY_READONLY_TOKEN: [],
      GATEWAY_ACL: DEFAULTS.gatewayAcl,
      GATEWAY_MAX_SUBSCRIPTIONS: DEFAULTS.gatewayMaxSubscriptions,
    });
    const read = () => readGatewayEnv({ GATEWAY_TOKEN: "secret-one,,secret-two", GATEWAY_ACL: "maybe" });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/GATEWAY_TOKEN: has an empty token between commas/);
    expect(read).toThrow(/GATEWAY_ACL: must be provision or off/);
    expect(read).not.toThrow(/secret/);
  });
});

describe("subscriptions", () => {
  // Ids of the gateway's subscriber connections; those of earlier tests may still be closing.
  const subscriberIds = async () =>
    new Set((await clientsNamed(tcp, "edgeq-gateway-subscriber")).map((line) => /\bid=(\d+)/.exec(line)?.[1]));

  /** Waits for the subscription to be live; answers the id of the one Redis connection it opened. */
  async function connectionOf(subscriber: ReturnType<Redis["subscribe"]>, before: Set<string | undefined>) {
    await next(subscriber, "subscribe");
    const opened = [...(await subscriberIds())].filter((id) => !before.has(id));
    expect(opened).toHaveLength(1);
    return opened[0];
  }

  it("delivers a message PUBLISHed over TCP to subscribe(), and a read-only token may listen", async () => {
    const channel = key("news");
    const subscriber = redis.subscribe(channel);
    const reader = new Redis({ url: gateway.url, token: READ_TOKEN }).subscribe(channel);
    await Promise.all([next(subscriber, "subscribe"), next(reader, "subscribe")]);
    const heard = Promise.all([next(subscriber, "message"), next(reader, "message")]);
    expect(await tcp.publish(channel, JSON.stringify({ status: "finished", n: 1 }))).toBe(2);
    expect(await heard).toEqual([
      { channel, message: { status: "finished", n: 1 } },
      { channel, message: { status: "finished", n: 1 } },
    ]);
    await Promise.all([subscriber.unsubscribe(), reader.unsubscribe()]);
  });

  it("delivers messages on channels matching a pattern to psubscribe()", async () => {
    const pattern = key("jobs:*");
    const subscriber = redis.psubscribe(pattern);
    await next(subscriber, "psubscribe");
    const heard = next(subscriber, "pmessage");
    // JSON: @upstash/redis parses every pattern message as JSON
    await tcp.publish(key("jobs:42"), JSON.stringify({ status: "started" }));
    expect(await heard).toEqual({ pattern, channel: key("jobs:42"), message: { status: "started" } });
    await subscriber.unsubscribe();
  });

  it("carries the changes edgeq's scripts publish to a subscriber through the gateway", async () => {
    const queue = new Queue("default", { redis, prefix });
    const job = await queue.enqueue("echo", {});
    const subscriber = redis.subscribe(queue.keys.events(job.id));
    await next(subscriber, "subscribe");
    const heard = next<{ channel: string; message: string }>(subscriber, "message");
    await queue.cancel(job.id);
    const { channel, message } = await heard;
    expect(channel).toBe(queue.keys.events(job.id));
    expect(message).toMatch(/^canceled \{/);
    await subscriber.unsubscribe();
  });

  it("closes the subscription's Redis connection when the client unsubscribes", async () => {
    const channel = key("closing");
    const before = await subscriberIds();
    const subscriber = redis.subscribe(channel);
    const connection = await connectionOf(subscriber, before);
    await subscriber.unsubscribe();
    await until("the subscriber connection to close", 5_000, async () => !(await subscriberIds()).has(connection));
    expect(await tcp.call("PUBSUB", "NUMSUB", channel)).toEqual([channel, 0]);
  });

  it("streams Upstash's event format: one data line an event, line breaks as further data lines", async () => {
    const channel = key("raw");
    const stream = await openStream(gateway.url, `/subscribe/${encodeURIComponent(channel)}`, TOKEN);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get("content-type")).toBe("text/event-stream");
    expect(await stream.readTo("\n\n")).toBe(`data: subscribe,${channel},1\n\n`);
    await tcp.publish(channel, "one,two\nthree");
    expect(await stream.readTo("\n\n")).toBe(`data: message,${channel},one,two\ndata: three\n\n`);
    stream.abort();
  });

  it("answers 401 to a subscription without a valid token", async () => {
    const res = await rest(`/subscribe/${key("private")}`, [], { token: "wrong" });
    expect(res).toMatchObject({ status: 401, json: { error: "Unauthorized" } });
  });

  it("refuses subscriptions past its limit with a clear error, and takes one again once a slot is free", async () => {
    const small = await startGateway({
      redisUrl: inject("redisUrl"),
      token: TOKEN,
      port: 0,
      maxSubscriptions: 1,
      logger: silent,
    });
    const client = new Redis({ url: small.url, token: TOKEN });
    try {
      const before = await subscriberIds();
      const first = client.subscribe(key("busy"));
      const connection = await connectionOf(first, before);
      const refused = await next<Error>(client.subscribe(key("busy")), "error");
      expect(refused.message).toMatch(/holds 1 subscriptions, its limit \(GATEWAY_MAX_SUBSCRIPTIONS\)/);
      const raw = await rest(`/subscribe/${key("busy")}`, [], { url: small.url });
      expect(raw.status).toBe(503);

      await first.unsubscribe();
      await until("the slot to be free", 5_000, async () => !(await subscriberIds()).has(connection));
      const again = client.subscribe(key("busy"));
      expect(await next(again, "subscribe")).toBe(1);
      await again.unsubscribe();
    } finally {
      await small.close();
    }
  });

  it("ends its open streams when it shuts down instead of waiting for them", async () => {
    const own = await startGateway({ redisUrl: inject("redisUrl"), token: TOKEN, port: 0, logger: silent });
    const stream = await openStream(own.url, `/subscribe/${key("shutdown")}`, TOKEN);
    await stream.readTo("\n\n");
    const startedAt = performance.now();
    await own.close();
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(await stream.ended()).toBe(true);
    await until("Redis to see the subscriber go", 5_000, async () => {
      const [, subscribers] = (await tcp.call("PUBSUB", "NUMSUB", key("shutdown"))) as [string, number];
      return subscribers === 0;
    });
  });
});
