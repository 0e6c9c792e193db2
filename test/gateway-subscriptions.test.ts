// Subscriptions through the gateway, in front of the run's redis-server:
// messages and patterns delivered to the @upstash/redis client, the changes
// edgeq's scripts publish, Upstash's event format, one Redis connection per
// subscription closed with it, the subscription limit, and shutdown.
import { Redis } from "@upstash/redis";
import { describe, expect, inject, it } from "vitest";
import { Queue } from "../shared/index.ts";
import { startGateway } from "../worker-node/gateway/server.ts";
import { next, openStream } from "./support/gateway.ts";
import {
  clientsNamed,
  gateway,
  gatewayForFile,
  key,
  prefix,
  READ_TOKEN,
  redis,
  rest,
  silent,
  TOKEN,
  tcp,
} from "./support/gateway-file.ts";
import { until } from "./support/worker.ts";

gatewayForFile();

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
