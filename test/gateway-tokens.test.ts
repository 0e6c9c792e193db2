// The gateway's tokens, in front of the run's redis-server: several at once
// for rotation, read-only ones refused every write (inside scripts too), none
// ever written to the log, and how GATEWAY_TOKEN and GATEWAY_READONLY_TOKEN
// are read.
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import pino from "pino";
import { describe, expect, inject, it } from "vitest";
import { DEFAULTS } from "../shared/defaults.ts";
import { ConfigError } from "../shared/settings.ts";
import { readGatewayEnv } from "../worker-node/config.ts";
import { startGateway } from "../worker-node/gateway/server.ts";
import { gateway, gatewayForFile, key, READ_TOKEN, redis, rest, silent, TOKEN } from "./support/gateway-file.ts";

gatewayForFile();

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
