// Enqueue, the producer's side: edgeq over TCP (ioredis), over REST through
// the gateway (@upstash/redis with its default options, auto-pipelining
// included), and through the edge HTTP API; BullMQ's Queue.add beside them.
// Each way is measured one at a time, with a few in flight, and in batches.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis as UpstashRedis } from "@upstash/redis";
import { Redis } from "ioredis";
import { Queue, type JobRequest } from "../../shared/index.ts";
import { bullmqEnqueuer } from "./bullmq.ts";
import { BATCH, type Enqueuer } from "./enqueuer.ts";
import { IN_FLIGHT } from "./ceilings.ts";
import { startHost, type Child } from "./children.ts";
import { PREFIX, type Context } from "./context.ts";
import { loadContender, type Plan } from "./measure.ts";
import { once } from "./util.ts";

const HOSTS = {
  gateway: fileURLToPath(new URL("./hosts/gateway.ts", import.meta.url)),
  edge: fileURLToPath(new URL("./hosts/edge.ts", import.meta.url)),
};

/** The REST gateway in a process of its own, in front of the bench's Redis. */
export function startGateway(ctx: Context, token: string): Promise<{ url: string; child: Child }> {
  return startHost("gateway", HOSTS.gateway, { REDIS_URL: ctx.redis.url, GATEWAY_TOKEN: token });
}

/** The edge app in a process of its own, talking REST to a gateway, with one API key (enqueue, read). */
export function startEdge(
  ctx: Context,
  gatewayUrl: string,
  token: string,
  apiKey: string,
): Promise<{ url: string; child: Child }> {
  return startHost("edge", HOSTS.edge, {
    GATEWAY_URL: gatewayUrl,
    GATEWAY_TOKEN: token,
    API_KEY: apiKey,
    EDGEQ_PREFIX: PREFIX,
    REDIS_URL: ctx.redis.url,
  });
}

export function enqueuePlan(ctx: Context): Plan {
  const token = randomBytes(16).toString("hex");
  const hosts: Child[] = [];
  const gateway = once(async () => {
    const host = await startGateway(ctx, token);
    hosts.push(host.child);
    return host.url;
  });

  const batch: JobRequest[] = Array.from({ length: BATCH }, () => ({ task: "noop", args: {} }));
  const viaQueue = (key: string, label: string, makeQueue: () => Promise<Queue>): Enqueuer => {
    let queue: Queue | undefined;
    return {
      key,
      scenario: "2. Enqueue",
      label: `edgeq Queue.enqueue ${label}`,
      batchLabel: `edgeq Queue.enqueueMany(${BATCH}) ${label}`,
      start: once(async () => {
        queue = await makeQueue();
      }),
      one: () => queue!.enqueue("noop", {}),
      batch: () => queue!.enqueueMany(batch),
      close: async () => {},
    };
  };

  let tcpClient: Redis | undefined;
  const tcp = viaQueue("tcp", "over TCP (ioredis)", async () => {
    tcpClient = new Redis(ctx.redis.url);
    return new Queue("tcp", { redis: tcpClient, prefix: PREFIX });
  });
  tcp.close = async () => void tcpClient?.disconnect();

  const rest = viaQueue("rest", "over REST via the gateway (@upstash/redis)", async () => {
    const redis = new UpstashRedis({ url: await gateway(), token });
    return new Queue("rest", { redis, prefix: PREFIX });
  });

  const edge = edgeEnqueuer(ctx, gateway, token, hosts);
  const enqueuers = [tcp, bullmqEnqueuer(ctx), rest, edge];

  const variants = [
    { key: "seq", what: "sequential", concurrency: 1, batched: false },
    { key: "parallel", what: `${IN_FLIGHT} in flight`, concurrency: IN_FLIGHT, batched: false },
    { key: "batch", what: "sequential batches", concurrency: 1, batched: true },
  ];
  const groups = variants.map((v) =>
    enqueuers.map((e) =>
      loadContender({
        id: `${e.scenario === "5. BullMQ" ? "bullmq" : "enqueue"}.${e.key}.${v.key}`,
        scenario: e.scenario,
        case: `${v.batched ? e.batchLabel : e.label}, ${v.what}`,
        start: e.start,
        op: v.batched ? e.batch : e.one,
        perOp: v.batched ? BATCH : 1,
        durationMs: ctx.profile.loadMs,
        concurrency: v.concurrency,
        rateLabel: "jobs/s",
        note: v.batched ? `latency is per batch of ${BATCH}` : undefined,
      }),
    ),
  );
  return {
    groups,
    async teardown() {
      for (const e of enqueuers) await e.close();
      for (const host of hosts) await host.stop();
    },
  };
}

/** POST /v1/queues/:queue/jobs (and /jobs/batch) on the edge app served by Node. */
function edgeEnqueuer(ctx: Context, gateway: () => Promise<string>, token: string, hosts: Child[]): Enqueuer {
  const apiKey = randomBytes(24).toString("hex");
  let url = "";
  const post = async (path: string, body: string) => {
    const response = await fetch(`${url}/v1/queues/edge${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body,
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`edge POST ${path}: ${response.status} ${text.slice(0, 300)}`);
  };
  const one = JSON.stringify({ task: "noop", args: {} });
  const many = JSON.stringify({ jobs: Array.from({ length: BATCH }, () => ({ task: "noop", args: {} })) });
  return {
    key: "edge",
    scenario: "2. Enqueue",
    label: "edge HTTP API (Hono on @hono/node-server → gateway)",
    batchLabel: `edge HTTP API batch of ${BATCH}`,
    start: once(async () => {
      const host = await startEdge(ctx, await gateway(), token, apiKey);
      hosts.push(host.child);
      url = host.url;
    }),
    one: () => post("/jobs", one),
    batch: () => post("/jobs/batch", many),
    close: async () => {},
  };
}
