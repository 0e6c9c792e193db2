// Tracing (README, "Tracing"): the trace context a producer enqueues in is
// kept with the job, and the worker's span of each run is its child, with the
// task running inside it. In the library, against a provider this file
// registers (an in-memory exporter) and an inline Worker; and end to end, an
// HTTP enqueue with a traceparent through the Node edge to a real worker
// process that exports over OTLP/HTTP to a receiver started here; and the
// bin's own gateway and edge, real processes exporting their spans beside it.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { Queue, traceContextOf } from "../shared/index.ts";
import { Worker } from "../worker-node/worker.ts";
import { connectForFile, redis } from "./support/connection.ts";
import { startBin, type BinServer } from "./support/bin.ts";
import { startEdge, type EdgeServer } from "./support/edge.ts";
import { prefixesFor } from "./support/prefixes.ts";
import { FIXTURE_TASKS, test, until } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const freshPrefix = prefixesFor("tracing");
connectForFile();

const exporter = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
const tracer = trace.getTracer("tracing.test");

/** Runs the queue's jobs in this process until none is left, as `--isolation inline --burst` would. */
async function runInline(prefix: string): Promise<void> {
  const logger = pino({ level: "silent" });
  const tasks = resolve(FIXTURE_TASKS);
  await new Worker({ redisUrl, prefix, queues: ["default"], tasks, isolation: "inline", burst: true, logger }).run();
}

describe("trace context", () => {
  test("a traceparent is kept when it is well formed, and a tracestate only within bounds", () => {
    const id = "0af7651916cd43dd8448eb211c80319c";
    const read = (headers: Record<string, string>) => traceContextOf((name) => headers[name]);
    expect(
      read({ traceparent: `00-${id.toUpperCase()}-b7ad6b7169203331-01`, tracestate: "congo=t61rcWkgMzE" }),
    ).toEqual({ traceparent: `00-${id}-b7ad6b7169203331-01`, tracestate: "congo=t61rcWkgMzE" });
    for (const traceparent of [
      "",
      "00-abc-b7ad6b7169203331-01",
      `00-${"0".repeat(32)}-b7ad6b7169203331-01`,
      `00-${id}-${"0".repeat(16)}-01`,
      `ff-${id}-b7ad6b7169203331-01`,
      `00-${id}-b7ad6b7169203331-01-extra`,
      `00-${id}-b7ad6b7169203331-01`.repeat(100),
    ]) {
      expect(read({ traceparent, tracestate: "a=b" })).toBeUndefined();
    }
    expect(read({ tracestate: "a=b" })).toBeUndefined();
    // a browser's oversized tracestate is dropped, the trace kept
    expect(read({ traceparent: `00-${id}-b7ad6b7169203331-01`, tracestate: "a=b,".repeat(200) })).toEqual({
      traceparent: `00-${id}-b7ad6b7169203331-01`,
    });
  });

  test("Queue.enqueue in an active span keeps its context, and an inline worker's span is its child", async () => {
    const prefix = freshPrefix();
    const queue = new Queue("default", { redis, prefix });
    const { job, producer } = await tracer.startActiveSpan("producer", { kind: SpanKind.PRODUCER }, async (span) => {
      const enqueued = await queue.enqueue("traced");
      span.end();
      return { job: enqueued, producer: span.spanContext() };
    });
    expect(await redis.hget(queue.keys.job(job.id), "traceparent")).toBe(
      `00-${producer.traceId}-${producer.spanId}-01`,
    );
    expect(job.traceId).toBe(producer.traceId);
    expect((await queue.getJob(job.id))!.traceId).toBe(producer.traceId);

    await runInline(prefix);
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === producer.traceId);
    const run = spans.find((s) => s.name === "edgeq.process traced")!;
    expect(run.kind).toBe(SpanKind.CONSUMER);
    expect(run.parentSpanContext?.spanId).toBe(producer.spanId);
    expect(run.attributes).toMatchObject({
      "messaging.system": "edgeq",
      "messaging.operation.type": "process",
      "messaging.destination.name": "default",
      "messaging.message.id": job.id,
      "edgeq.attempt": 1,
      "edgeq.outcome": "finished",
    });
    // the task ran inside the run's span: what it would fetch with carries the trace on
    const fetchSpan = spans.find((s) => s.name === "fixture.fetch")!;
    expect(fetchSpan.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    expect((await queue.getJob(job.id))!.result).toEqual({
      traceparent: `00-${producer.traceId}-${fetchSpan.spanContext().spanId}-01`,
    });
  });

  test("a job enqueued in no trace writes no trace field, and its run's span is a root of its own", async () => {
    const prefix = freshPrefix();
    const queue = new Queue("default", { redis, prefix });
    const job = await queue.enqueue("echo", { plain: true });
    const fields = await redis.hkeys(queue.keys.job(job.id));
    expect(fields).not.toContain("traceparent");
    expect(fields).not.toContain("tracestate");
    expect(job).not.toHaveProperty("traceId");

    await runInline(prefix);
    const run = exporter.getFinishedSpans().find((s) => s.attributes["messaging.message.id"] === job.id)!;
    expect(run.parentSpanContext).toBeUndefined();
    expect(await redis.hkeys(queue.keys.job(job.id))).not.toContain("traceparent");
  });
});

/** An OTLP/HTTP receiver: what each export POSTed to /v1/traces. */
interface Receiver {
  url: string;
  posts: { contentType: string; body: Buffer }[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const posts: Receiver["posts"] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/v1/traces") {
        posts.push({ contentType: request.headers["content-type"] ?? "", body: Buffer.concat(chunks) });
      }
      response.writeHead(200, { "content-type": request.headers["content-type"] ?? "application/json" });
      response.end(request.headers["content-type"] === "application/json" ? "{}" : "");
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    close: () => new Promise((closed) => server.close(() => closed())),
  };
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
  status?: { code?: number; message?: string };
  /** Its resource's service.name. */
  service?: string;
}

type OtlpAttributes = OtlpSpan["attributes"];

/** The spans of every JSON export so far. */
function spansOf(receiver: Receiver): OtlpSpan[] {
  return receiver.posts
    .filter((post) => post.contentType === "application/json")
    .flatMap((post) => {
      const body = JSON.parse(post.body.toString()) as {
        resourceSpans: { resource: { attributes: OtlpAttributes }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      return body.resourceSpans.flatMap((r) => {
        const service = attributeMap(r.resource.attributes)["service.name"] as string;
        return r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, service })));
      });
    });
}

function attributeMap(attributes: OtlpAttributes): Record<string, string | number | undefined> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, value.stringValue ?? Number(value.intValue)]));
}

function attributesOf(span: OtlpSpan): Record<string, string | number | undefined> {
  return attributeMap(span.attributes);
}

describe("a worker process that exports over OTLP", () => {
  const BROWSER_KEY = "browser-key-for-tracing-tests-0123456789";
  let edge: EdgeServer;
  let receiver: Receiver;
  let prefix: string;

  beforeAll(async () => {
    prefix = freshPrefix();
    receiver = await startReceiver();
    edge = await startEdge({
      redisUrl,
      prefix,
      apiKeys: [{ name: "browser", key: BROWSER_KEY, scopes: ["enqueue", "read"] }],
    });
  });
  afterAll(async () => {
    await edge?.close();
    await receiver?.close();
  });

  const enqueue = async (task: string, traceparent: string) => {
    const response = await fetch(`${edge.url}/v1/queues/default/jobs`, {
      method: "POST",
      headers: { Authorization: `Bearer ${BROWSER_KEY}`, "Content-Type": "application/json", traceparent },
      body: JSON.stringify({ task }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; traceId?: string };
  };

  test("a browser's traceparent reaches the worker's span, and the task in its horse runs inside it", async ({
    workers,
  }) => {
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_SERVICE_NAME: "edgeq-tracing-test",
    };
    await workers.start({ redis, redisUrl, prefix, env: otel });
    const ok = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" };
    const bad = { traceId: "5bf92f3577b34da6a3ce929d0e0e4736", spanId: "10f067aa0ba902b7" };
    const traced = await enqueue("traced", `00-${ok.traceId}-${ok.spanId}-01`);
    const failing = await enqueue("fail", `00-${bad.traceId}-${bad.spanId}-01`);
    expect(traced.traceId).toBe(ok.traceId);
    const queue = new Queue("default", { redis, prefix });
    const done = await queue.waitFor(traced.id, { timeoutMs: 15_000 });
    expect((await queue.waitFor(failing.id, { timeoutMs: 15_000 })).status).toBe("failed");

    // the worker's spans, and the span the task made in its horse, which exports on its own
    const spans = await until("the runs' spans and the task's", 15_000, () => {
      const all = spansOf(receiver);
      const names = all.map((s) => s.name);
      return names.includes("edgeq.process traced") &&
        names.includes("edgeq.process fail") &&
        names.includes("fixture.fetch")
        ? all
        : undefined;
    });
    // the edge runs in this process, whose provider holds its producer spans: the browser's children
    const producerOf = (traceId: string) =>
      exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER && s.spanContext().traceId === traceId)!;
    expect(producerOf(ok.traceId).parentSpanContext?.spanId).toBe(ok.spanId);
    const run = spans.find((s) => s.name === "edgeq.process traced")!;
    expect(run).toMatchObject({
      traceId: ok.traceId,
      parentSpanId: producerOf(ok.traceId).spanContext().spanId,
      kind: 5,
    });
    expect(attributesOf(run)).toMatchObject({
      "messaging.system": "edgeq",
      "messaging.operation.type": "process",
      "messaging.destination.name": "default",
      "messaging.message.id": traced.id,
      "edgeq.attempt": 1,
      "edgeq.outcome": "finished",
    });
    expect(run.status?.code ?? 0).not.toBe(SpanStatusCode.ERROR);
    const fetchSpan = spans.find((s) => s.name === "fixture.fetch")!;
    expect(fetchSpan).toMatchObject({ traceId: ok.traceId, parentSpanId: run.spanId });
    expect(done.result).toEqual({ traceparent: `00-${ok.traceId}-${fetchSpan.spanId}-01` });

    const failed = spans.find((s) => s.name === "edgeq.process fail")!;
    expect(failed).toMatchObject({ traceId: bad.traceId, parentSpanId: producerOf(bad.traceId).spanContext().spanId });
    expect(failed.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "Error: failed on purpose" });
    expect(attributesOf(failed)).toMatchObject({ "edgeq.outcome": "failed", "error.type": "Error" });
  });

  test("exports protobuf by default", async ({ workers }) => {
    const otel = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: "50" };
    const own = freshPrefix();
    const ownEdge = await startEdge({
      redisUrl,
      prefix: own,
      apiKeys: [{ name: "browser", key: BROWSER_KEY, scopes: ["enqueue", "read"] }],
    });
    try {
      await workers.start({ redis, redisUrl, prefix: own, env: otel });
      const traceId = "6bf92f3577b34da6a3ce929d0e0e4736";
      const response = await fetch(`${ownEdge.url}/v1/queues/default/jobs`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${BROWSER_KEY}`,
          "Content-Type": "application/json",
          traceparent: `00-${traceId}-20f067aa0ba902b7-01`,
        },
        body: JSON.stringify({ task: "echo" }),
      });
      const { id } = (await response.json()) as { id: string };
      await new Queue("default", { redis, prefix: own }).waitFor(id, { timeoutMs: 15_000 });
      // protobuf writes ids as raw bytes
      await until("a protobuf export naming the trace", 15_000, () =>
        receiver.posts.some(
          (p) => p.contentType === "application/x-protobuf" && p.body.includes(Buffer.from(traceId, "hex")),
        ),
      );
    } finally {
      await ownEdge.close();
    }
  });
});

describe("the bin's gateway and edge, as `edgeq gateway` and `edgeq edge` run them", () => {
  const KEY = "server-key-for-tracing-tests-0123456789";
  const TOKEN = randomBytes(16).toString("hex");
  // prints, as the process exits, the SDK packages it loaded
  const PROBE = "./test/fixtures/otel-probe.ts";
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  /** The gateway and the edge in front of it, real processes of the bin, each with `env` besides its own. */
  async function startBoth(prefix: string, env: Record<string, string>) {
    const gatewayEnv = { REDIS_URL: redisUrl, GATEWAY_TOKEN: TOKEN, GATEWAY_PORT: "0", LOG_LEVEL: "info" };
    const gateway = await startBin("gateway", { ...env, ...gatewayEnv }, [PROBE]);
    const edge = await startBin(
      "edge",
      {
        ...env,
        UPSTASH_REDIS_REST_URL: gateway.url,
        UPSTASH_REDIS_REST_TOKEN: TOKEN,
        API_KEYS: JSON.stringify([{ name: "server", key: KEY, scopes: ["enqueue", "read"] }]),
        EDGEQ_PREFIX: prefix,
        EDGE_PORT: "0",
      },
      [PROBE],
    );
    return { gateway, edge };
  }

  const post = (edge: BinServer, path: string, body: unknown, traceparent: string) =>
    fetch(`${edge.url}/v1/queues/default${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json", traceparent },
      body: JSON.stringify(body),
    });

  const sdkLoaded = (server: BinServer): string[] =>
    JSON.parse(/\{"otelSdkLoaded":.*\}/.exec(server.output)![0]).otelSdkLoaded;

  test("one trace: the client's span, the edge's producer span, the worker's; the gateway's spans too", async ({
    workers,
  }) => {
    const prefix = freshPrefix();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
    await workers.start({ redis, redisUrl, prefix, env: { ...otel, OTEL_BSP_SCHEDULE_DELAY: "50" } });
    // the edge's and the gateway's spans leave only when they stop: what their shutdown flushes
    const { gateway, edge } = await startBoth(prefix, { ...otel, OTEL_BSP_SCHEDULE_DELAY: "600000" });
    const client = { traceId: "7bf92f3577b34da6a3ce929d0e0e4736", spanId: "30f067aa0ba902b7" };
    const traceparent = `00-${client.traceId}-${client.spanId}-01`;
    const single = await post(edge, "/jobs", { task: "traced" }, traceparent);
    expect(single.status).toBe(201);
    const { id, traceId } = (await single.json()) as { id: string; traceId: string };
    expect(traceId).toBe(client.traceId);
    const batch = await post(edge, "/jobs/batch", { jobs: [{ task: "echo" }, { task: "echo" }] }, traceparent);
    expect(batch.status).toBe(201);
    const queue = new Queue("default", { redis, prefix });
    expect((await queue.waitFor(id, { timeoutMs: 15_000 })).status).toBe("finished");
    expect(await edge.stop()).toEqual({ code: 0, signal: null });
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(sdkLoaded(edge)).toContain("sdk-trace-node");
    expect(sdkLoaded(gateway)).toContain("exporter-trace-otlp-http");

    const spans = await until("the worker's span of the run", 15_000, () => {
      const all = spansOf(receiver).filter((s) => s.traceId === client.traceId || s.service === "edgeq-gateway");
      return all.some((s) => s.name === "edgeq.process traced") ? all : undefined;
    });
    const producer = spans.find((s) => s.name === "edgeq.enqueue traced")!;
    expect(producer).toMatchObject({ traceId: client.traceId, parentSpanId: client.spanId, kind: 4 });
    expect(producer.service).toBe("edgeq-edge");
    expect(attributesOf(producer)).toMatchObject({
      "messaging.system": "edgeq",
      "messaging.operation.type": "send",
      "messaging.destination.name": "default",
      "messaging.message.id": id,
    });
    // the job keeps the producer span's context, so the run is its child
    expect(await redis.hget(queue.keys.job(id), "traceparent")).toBe(`00-${client.traceId}-${producer.spanId}-01`);
    const run = spans.find((s) => s.name === "edgeq.process traced")!;
    expect(run).toMatchObject({ traceId: client.traceId, parentSpanId: producer.spanId });
    const batched = spans.find((s) => s.name === "edgeq.enqueue echo")!;
    expect(batched).toMatchObject({ parentSpanId: client.spanId, kind: 4 });
    expect(attributesOf(batched)["messaging.batch.message_count"]).toBe(2);

    // a server span per request, named by its command path: no key, argument nor token in it
    const served = spans.filter((s) => s.service === "edgeq-gateway");
    expect(served.length).toBeGreaterThan(0);
    for (const span of served) {
      expect(span.kind).toBe(2);
      expect(span.name).toMatch(/^(GET|POST) \/[a-z-]*$/);
    }
    const pipeline = served.find((s) => s.name === "POST /pipeline")!;
    expect(attributesOf(pipeline)).toMatchObject({ "http.response.status_code": 200 });
    expect(attributesOf(pipeline)["edgeq.gateway.commands"]).toBeGreaterThan(0);
    const exported = JSON.stringify(served);
    for (const secret of [TOKEN, KEY, prefix]) expect(exported).not.toContain(secret);
  }, 60_000);

  test("with no OTEL_* variable they load no SDK package, and a job keeps the traceparent sent", async () => {
    const prefix = freshPrefix();
    const { gateway, edge } = await startBoth(prefix, {});
    const traceparent = "00-8bf92f3577b34da6a3ce929d0e0e4736-40f067aa0ba902b7-01";
    const response = await post(edge, "/jobs", { task: "echo" }, traceparent);
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const queue = new Queue("default", { redis, prefix });
    expect(await redis.hget(queue.keys.job(id), "traceparent")).toBe(traceparent);
    expect(await edge.stop()).toEqual({ code: 0, signal: null });
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(sdkLoaded(edge)).toEqual([]);
    expect(sdkLoaded(gateway)).toEqual([]);
  }, 60_000);
});
