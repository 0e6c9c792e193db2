// The gateway refusing server administration, against redis-servers of the
// tests' own whose users they change: by command name, inside scripts, as the
// restricted Redis user it makes (again after a restart), and with the user an
// operator gives it or GATEWAY_ACL=off.
import { once } from "node:events";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "../shared/index.ts";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { clientsNamed, gatewayForFile, prefix, rest, silent, TOKEN } from "./support/gateway-file.ts";
import { type RedisServer, startRedisServer } from "./support/redis.ts";
import { until } from "./support/worker.ts";

gatewayForFile();

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
