// Tracing (README, "Tracing"): the trace context a producer enqueues in is
// kept with the job, and the worker's span of each run is its child, with the
// task running inside it. In the library, against a provider this file
// registers (an in-memory exporter) and an inline Worker; and end to end, an
// HTTP enqueue with a traceparent through the Node edge to a real worker
// process that exports over OTLP/HTTP to a receiver started here.
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
}

/** The spans of every JSON export so far. */
function spansOf(receiver: Receiver): OtlpSpan[] {
  return receiver.posts
    .filter((post) => post.contentType === "application/json")
    .flatMap((post) => {
      const body = JSON.parse(post.body.toString()) as {
        resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      return body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    });
}

function attributesOf(span: OtlpSpan): Record<string, string | number | undefined> {
  return Object.fromEntries(
    span.attributes.map(({ key, value }) => [key, value.stringValue ?? Number(value.intValue)]),
  );
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
    const run = spans.find((s) => s.name === "edgeq.process traced")!;
    expect(run).toMatchObject({ traceId: ok.traceId, parentSpanId: ok.spanId, kind: 5 });
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
    expect(failed).toMatchObject({ traceId: bad.traceId, parentSpanId: bad.spanId });
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
