// The gateway's HTTP protocol, spoken with raw fetch in front of the run's
// redis-server: tokens, bodies and their limits, refused commands, Redis's
// errors, sync tokens, paths; and a graceful shutdown that finishes the
// request in flight.
import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";
import { Redis } from "@upstash/redis";
import { describe, expect, inject, it } from "vitest";
import { startGateway } from "../worker-node/gateway/server.ts";
import { b64, gateway, gatewayForFile, key, redis, rest, silent, TOKEN } from "./support/gateway-file.ts";

gatewayForFile();

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
