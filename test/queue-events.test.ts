// A queue's event stream against a real redis-server: the scripts append each
// transition of a queue's jobs, and Queue.events follows them over TCP (a
// blocking read of its own) and over REST (the real gateway through
// @upstash/redis, polling), in order, resumable after an event's id, with a
// gap when the entry resumed after was trimmed away.
import { randomBytes } from "node:crypto";
import { Redis as Upstash } from "@upstash/redis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue, ValidationError, type QueueEventItem } from "../shared/index.ts";
import * as scripts from "../shared/scripts/index.ts";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { claimJobs, completeJob, failJob, held, scriptQueues } from "./support/scripts.ts";

connectForFile();
const fresh = scriptQueues("queue-events");
const token = randomBytes(12).toString("hex");
let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({ redisUrl: inject("redisUrl"), token, port: 0, logger: pino({ level: "silent" }) });
});
afterAll(() => gateway.close());

/** The next `n` items of a queue's events. */
async function take(events: AsyncIterator<QueueEventItem>, n: number): Promise<QueueEventItem[]> {
  const items: QueueEventItem[] = [];
  while (items.length < n) {
    const { value, done } = await events.next();
    if (done) break;
    items.push(value);
  }
  return items;
}

/** Two jobs through most of the transitions: queued, scheduled, started, progress, a retry, finished, canceled. */
async function lifeOfTwoJobs(queue: Queue) {
  const now = Date.now();
  const a = await queue.enqueue("resize", { w: 1 }, { retry: { max: 1 } });
  const b = await queue.enqueue("thumb", null, { runAt: now + 3_600_000 });
  await claimJobs(queue.keys, now);
  const update = { progress: { done: 1 } };
  await scripts.progress.run(runner, queue.keys, { ...(await held(queue.keys, a.id)), worker: "w1", update });
  await failJob(queue.keys, now, a.id, { message: "flaky" });
  await claimJobs(queue.keys, now + 1);
  await completeJob(queue.keys, now + 1, a.id);
  await queue.cancel(b.id);
  return { a: a.id, b: b.id };
}

const transitions = ({ a, b }: { a: string; b: string }) => [
  { event: "queued", id: a, status: "queued", task: "resize" },
  { event: "scheduled", id: b, status: "scheduled", task: "thumb" },
  { event: "started", id: a, status: "started", from: "queued", attempt: 1 },
  { event: "progress", id: a, status: "started", task: "resize", attempt: 1, progress: { done: 1 } },
  { event: "queued", id: a, status: "queued", from: "started" },
  { event: "started", id: a, status: "started", from: "queued", attempt: 2 },
  { event: "finished", id: a, status: "finished", from: "started", task: "resize", attempt: 2 },
  { event: "canceled", id: b, status: "canceled", from: "scheduled", task: "thumb" },
];

describe("Queue.events over TCP", () => {
  it("streams every transition of the queue's jobs in order, with a small view of each", async () => {
    const { queue } = fresh();
    const ids = await lifeOfTwoJobs(queue);
    const items = await take(queue.events({ after: "0" }), 8);
    expect(items).toMatchObject(transitions(ids));
    expect(items[1]).toMatchObject({ runAt: expect.any(Number) });
    // what the job's hash holds besides stays out of the stream
    expect(items[0]).not.toHaveProperty("args");
  });

  it("goes on after an event's id, and waits in Redis for the next until its signal aborts", async () => {
    const { queue } = fresh();
    await lifeOfTwoJobs(queue);
    const all = await take(queue.events({ after: "0" }), 8);
    const stop = new AbortController();
    const events = queue.events({ after: (all[4] as { eventId: string }).eventId, signal: stop.signal });
    expect(await take(events, 3)).toEqual(all.slice(5));
    const next = events.next();
    const later = await queue.enqueue("resize", null);
    expect((await next).value).toMatchObject({ event: "queued", id: later.id });
    const blocked = events.next();
    stop.abort();
    expect(await blocked).toEqual({ done: true, value: undefined });
  });

  it("says when the event resumed after was trimmed away, then goes on from the oldest kept", async () => {
    const { queue, keys } = fresh();
    await lifeOfTwoJobs(queue);
    const all = await take(queue.events({ after: "0" }), 8);
    // as the cap does past DEFAULTS.queueEventsMaxLen entries
    await redis.xtrim(keys.queueEvents("default"), "MAXLEN", 2);
    const first = (all[0] as { eventId: string }).eventId;
    const items = await take(queue.events({ after: first }), 3);
    expect(items).toEqual([{ event: "gap", after: first }, ...all.slice(6)]);
  });

  it("keeps events small: a large progress left out, a long error message cut where a character starts", async () => {
    const { queue } = fresh();
    const job = await queue.enqueue("t", null);
    await claimJobs(queue.keys, Date.now());
    const update = { progress: "x".repeat(600) };
    await scripts.progress.run(runner, queue.keys, { ...(await held(queue.keys, job.id)), worker: "w1", update });
    await failJob(queue.keys, Date.now(), job.id, { message: `a${"é".repeat(400)}`, retryable: false });
    const [, , progress, failed] = await take(queue.events({ after: "0" }), 4);
    expect(progress).toMatchObject({ event: "progress", id: job.id });
    expect(progress).not.toHaveProperty("progress");
    expect(failed).toMatchObject({ event: "failed", error: { name: "Error", message: `a${"é".repeat(255)}` } });
  });

  it("refuses an `after` that is not an event id, naming it", async () => {
    const { queue } = fresh();
    await expect(take(queue.events({ after: "yesterday" }), 1)).rejects.toThrow(ValidationError);
    await expect(take(queue.events({ after: "yesterday" }), 1)).rejects.toThrow(/after/);
  });
});

describe("Queue.events over REST (the gateway, @upstash/redis)", () => {
  it("streams the same transitions in the same order, polling, and resumes after an id", async () => {
    const { queue, prefix } = fresh();
    const rest = new Queue("default", { redis: new Upstash({ url: gateway.url, token }), prefix });
    const stop = new AbortController();
    const events = rest.events({ after: "0", signal: stop.signal });
    const first = take(events, 8);
    const ids = await lifeOfTwoJobs(queue);
    const items = await first;
    expect(items).toMatchObject(transitions(ids));
    const after = (items[5] as { eventId: string }).eventId;
    expect(await take(rest.events({ after }), 2)).toEqual(items.slice(6));
    const polling = events.next();
    stop.abort();
    expect(await polling).toEqual({ done: true, value: undefined });
  });
});
