// The producer API over REST: the same Queue, given an @upstash/redis client
// that talks to the real gateway, must behave exactly as it does over TCP.
import { randomBytes } from "node:crypto";
import { Redis as Upstash } from "@upstash/redis";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { JobNotFoundError, JobStateError, Queue, ValidationError } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import * as scripts from "../shared/scripts/index.ts";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { deleteKeys, uniquePrefix } from "./support/prefixes.ts";

const token = randomBytes(12).toString("hex");
const prefix = uniquePrefix("rest");
let gateway: Gateway;
let tcp: Redis;
let rest: Queue;
let direct: Queue;

beforeAll(async () => {
  gateway = await startGateway({ redisUrl: inject("redisUrl"), token, port: 0, logger: pino({ level: "silent" }) });
  tcp = new Redis(inject("redisUrl"));
  rest = new Queue("default", { redis: new Upstash({ url: gateway.url, token }), prefix });
  direct = new Queue("default", { redis: tcp, prefix });
});

afterAll(async () => {
  await gateway.close();
  await deleteKeys(tcp, prefix);
  await tcp.quit();
});

/** Runs the claimed job to an outcome with the worker's own scripts. */
async function work(outcome: { result: unknown } | { error: string }) {
  const runner = scriptRunner(tcp);
  const claimed = await scripts.claim.run(runner, direct.keys, {
    now: Date.now(),
    worker: "w",
    next: { leaseMs: 30_000, max: 1, queues: ["default"] },
  });
  const id = claimed.jobs[0]!.id;
  const report = { now: Date.now(), worker: "w" };
  if ("result" in outcome)
    await scripts.complete.run(runner, direct.keys, {
      ...report,
      jobs: [{ id, claim: 1, result: JSON.stringify(outcome.result) }],
    });
  else
    await scripts.fail.run(runner, direct.keys, {
      ...report,
      jobs: [{ id, claim: 1, error: { name: "Error", message: outcome.error }, retryable: false }],
    });
  return id;
}

describe("Queue over @upstash/redis and the gateway", () => {
  it("enqueues a job that TCP sees identically, and reads back a result like JSON, numbers and base64", async () => {
    const args = { text: "aGVsbG8=", number: "123", nested: { emoji: "🚀", empty: "" }, list: [1, "2"] };
    const job = await rest.enqueue("echo", args, { meta: { source: "rest" } });
    expect(await direct.getJob(job.id)).toEqual(job);
    await work({ result: { echoed: args, big: "9007199254740993" } });
    const done = await rest.waitFor(job.id, { timeoutMs: 5_000 });
    expect(done.status).toBe("finished");
    expect(done.args).toEqual(args);
    expect(done.meta).toEqual({ source: "rest" });
    expect(done.result).toEqual({ echoed: args, big: "9007199254740993" });
  });

  it("keeps a result that is a bare string or number exactly", async () => {
    const a = await rest.enqueue("echo", "42");
    await work({ result: "42" });
    expect((await rest.getJob(a.id))!.result).toBe("42");
    const b = await rest.enqueue("echo", 42);
    await work({ result: 42 });
    expect((await rest.getJob(b.id))!.result).toBe(42);
  });

  it("refuses bad input before any request and reports typed errors from scripts", async () => {
    await expect(rest.enqueue("bad task!", {})).rejects.toBeInstanceOf(ValidationError);
    expect(await rest.getJob("does-not-exist")).toBeNull();
    await expect(rest.cancel("does-not-exist")).rejects.toBeInstanceOf(JobNotFoundError);
    const job = await rest.enqueue("fail", {});
    const id = await work({ error: "boom" });
    expect(id).toBe(job.id);
    expect((await rest.getJob(id))!.error).toMatchObject({ name: "Error", message: "boom" });
    await expect(rest.cancel(id)).rejects.toBeInstanceOf(JobStateError);
    expect((await rest.requeue(id)).status).toBe("queued");
  });

  it("batches, cancels and counts over REST", async () => {
    const jobs = await rest.enqueueMany([
      { task: "echo", args: 1 },
      { task: "echo", args: 2, options: { delayMs: 60_000 } },
    ]);
    expect(jobs.map((j) => j.status)).toEqual(["queued", "scheduled"]);
    expect((await rest.cancel(jobs[1]!.id)).status).toBe("canceled");
    const counts = await rest.counts();
    expect(counts).toEqual(await direct.counts());
    expect(counts.canceled).toBeGreaterThanOrEqual(1);
  });
});
