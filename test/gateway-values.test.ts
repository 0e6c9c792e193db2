// Values through the gateway, as the real @upstash/redis client (default
// options: auto-pipelining, base64 responses, read-your-writes) and raw fetch
// send and read them, in front of the run's redis-server: types, big integers,
// unicode and bytes; pipelines and transactions; scripts falling back to EVAL.
import { createHash } from "node:crypto";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { b64, gateway, gatewayForFile, key, prefix, redis, rest, TOKEN } from "./support/gateway-file.ts";

gatewayForFile();

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
