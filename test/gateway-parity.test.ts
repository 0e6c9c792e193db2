// GATEWAY_UPSTASH_PARITY: the gateway as a developer's local stand-in for
// Upstash serves what Upstash serves of Redis's dangerous commands (KEYS,
// FLUSHDB, FLUSHALL, SORT), by name and inside any script, through the real
// @upstash/redis client; without it they stay refused; and it will not start
// listening beyond loopback. A redis-server of the file's own, since FLUSHALL
// empties it.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { silent, TOKEN } from "./support/gateway-file.ts";
import { type RedisServer, startRedisServer } from "./support/redis.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
let server: RedisServer;
let tcp: IORedis;
let parity: Gateway;
let plain: Gateway;
let upstash: Redis;
let refusing: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  tcp = new IORedis(server.url);
  // the defaults otherwise: the server's default user may do anything, so each makes its own restricted user
  parity = await startGateway({ redisUrl: server.url, token: TOKEN, port: 0, upstashParity: true, logger: silent });
  plain = await startGateway({ redisUrl: server.url, token: TOKEN, port: 0, logger: silent });
  upstash = new Redis({ url: parity.url, token: TOKEN, enableTelemetry: false });
  refusing = new Redis({ url: plain.url, token: TOKEN, enableTelemetry: false });
});

afterAll(async () => {
  await parity?.close();
  await plain?.close();
  await tcp?.quit();
  await server?.destroy();
});

describe("with GATEWAY_UPSTASH_PARITY=1", () => {
  it("serves KEYS, SORT, FLUSHDB and FLUSHALL as Upstash does", async () => {
    await upstash.set("parity:a", "1");
    await upstash.set("parity:b", "2");
    expect((await upstash.keys("parity:*")).sort()).toEqual(["parity:a", "parity:b"]);
    await upstash.rpush("parity:list", 3, 1, 2);
    expect(await upstash.exec(["SORT", "parity:list"])).toEqual([1, 2, 3]);
    expect(await upstash.flushdb()).toBe("OK");
    expect(await tcp.dbsize()).toBe(0);
    await upstash.set("parity:c", "3");
    expect(await upstash.flushall([{ async: true }])).toBe("OK");
    expect(await upstash.exists("parity:c")).toBe(0);
  });

  it("runs any script, the ones that call KEYS and FLUSHALL too, by EVAL and by EVALSHA", async () => {
    await tcp.set("script:x", "1");
    expect(await upstash.eval("return redis.call('KEYS', ARGV[1])", [], ["script:*"])).toEqual(["script:x"]);
    const flush = "return redis.call('FLUSHALL')";
    const sha = await upstash.scriptLoad(flush);
    expect(await upstash.evalsha(sha, [], [])).toBe("OK");
    expect(await tcp.exists("script:x")).toBe(0);
  });

  it("still refuses what Upstash does not serve: administration, blocking commands", async () => {
    await expect(upstash.exec(["CONFIG", "GET", "maxmemory"])).rejects.toThrow(/NOPERM CONFIG is server admin/);
    // inside a script, Redis's ACL refuses it to the gateway's user
    await expect(upstash.eval("return redis.call('INFO')", [], [])).rejects.toThrow(/user .* can't run this command/);
    await expect(upstash.exec(["BLPOP", "q", "1"])).rejects.toThrow(/BLPOP is a blocking command/);
  });
});

describe("without it", () => {
  it("refuses KEYS, FLUSHDB, FLUSHALL and SORT, by name and inside scripts, and the keys stay", async () => {
    await tcp.set("kept", "yes");
    await expect(refusing.keys("*")).rejects.toThrow(/NOPERM KEYS is server administration/);
    await expect(refusing.flushdb()).rejects.toThrow(/NOPERM FLUSHDB/);
    await expect(refusing.flushall()).rejects.toThrow(/NOPERM FLUSHALL/);
    await expect(refusing.exec(["SORT", "kept"])).rejects.toThrow(/NOPERM.*sort/i);
    await expect(refusing.eval("return redis.call('FLUSHALL')", [], [])).rejects.toThrow(/user .* can't run this/);
    expect(await tcp.get("kept")).toBe("yes");
  });
});

describe("beyond loopback", () => {
  it("does not start, and says why", async () => {
    const start = startGateway({
      redisUrl: server.url,
      token: TOKEN,
      port: 0,
      host: "0.0.0.0",
      upstashParity: true,
      logger: silent,
    });
    await expect(start).rejects.toThrow(/GATEWAY_UPSTASH_PARITY=1 .* needs GATEWAY_HOST on loopback .* not 0\.0\.0\.0/);
  });

  it("`edgeq gateway` exits 1 naming GATEWAY_HOST, before it reaches Redis", async () => {
    const run = promisify(execFile)(process.execPath, ["--import", "tsx", "worker-node/gateway/main.ts"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        GATEWAY_TOKEN: TOKEN,
        GATEWAY_UPSTASH_PARITY: "1",
        GATEWAY_HOST: "0.0.0.0",
        REDIS_URL: "redis://127.0.0.1:1",
      },
      timeout: 20_000,
    });
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^edgeq gateway: GATEWAY_UPSTASH_PARITY=1 .*GATEWAY_HOST on loopback/),
    });
  });
});
