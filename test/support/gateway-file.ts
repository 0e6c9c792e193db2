// The gateway a test/gateway-*.test.ts file runs against: one in front of the
// run's redis-server with a full and a read-only token, started before the
// file's tests and closed after them, with the @upstash/redis client on it and
// a TCP client on the server; the file's keys go under a prefix of its own and
// are deleted after its tests. `gateway`, `redis` and `tcp` are live bindings,
// set once the file's beforeAll has run.
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, inject } from "vitest";
import { startGateway, type Gateway } from "../../worker-node/gateway/server.ts";
import { restCaller } from "./gateway.ts";
import { uniquePrefix } from "./prefixes.ts";

export const TOKEN = `gw-${randomBytes(12).toString("hex")}`;
export const READ_TOKEN = `ro-${randomBytes(12).toString("hex")}`;
export const silent = pino({ level: "silent" });
export const prefix = uniquePrefix("gateway");
export const key = (name: string) => `${prefix}:${name}`;
export const b64 = (text: string) => Buffer.from(text).toString("base64");

export let gateway: Gateway;
export let redis: Redis;
/** The run's redis-server as its default user, which may do anything. */
export let tcp: IORedis;

/** Starts `gateway`, `redis` and `tcp` before the calling file's tests; closes them and deletes its keys after. */
export function gatewayForFile(): void {
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
}

export const rest = restCaller(() => ({ url: gateway.url, token: TOKEN }));

/** Lines of `CLIENT LIST` for the connections of one name. */
export async function clientsNamed(direct: IORedis, name: string): Promise<string[]> {
  const list = (await direct.call("CLIENT", "LIST")) as string;
  return list.split("\n").filter((line) => line.includes(` name=${name} `));
}
