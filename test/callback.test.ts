// callbackUrl: every ending of a job puts one delivery in the outbox, whoever
// ended it; workers deliver it signed as Standard Webhooks sign, at least
// once, with the same webhook-id on every try, and never into the private
// network unless the operator allows it.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { describeQueues, Queue, type JobView } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import * as scripts from "../shared/scripts/index.ts";
import { CallbackAllowlist } from "../worker-node/callback.ts";
import { backoffMs } from "../worker-node/outbox.ts";
import { freshQueues } from "./support/prefixes.ts";
import { test, until, type WorkerSpec } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const secret = `whsec_${randomBytes(24).toString("base64")}`;
let redis: Redis;

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
  /** The payload, verified with the reference Standard Webhooks library. */
  event: { type: string; timestamp: string; data: JobView };
}

/** A callback receiver on loopback: records what arrives and answers as `answer` says. */
class Receiver {
  readonly received: Received[] = [];
  #server: Server;
  #waiters: (() => void)[] = [];
  url = "";

  constructor(
    readonly answer: (req: Received, res: ServerResponse, nth: number) => void = (_, res) => res.writeHead(204).end(),
  ) {
    this.#server = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      const event = new Webhook(secret).verify(body, req.headers as Record<string, string>) as Received["event"];
      const got = { headers: req.headers, body, event };
      this.received.push(got);
      for (const wake of this.#waiters.splice(0)) wake();
      this.answer(got, res, this.received.length);
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}/hook`;
    return this;
  }

  for(jobId: string): Received[] {
    return this.received.filter((r) => r.event.data.id === jobId);
  }

  /** Until `count` deliveries of the job have arrived. */
  async until(jobId: string, count = 1): Promise<Received[]> {
    while (this.for(jobId).length < count) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.for(jobId);
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
}

const receivers: Receiver[] = [];
async function receiver(answer?: ConstructorParameters<typeof Receiver>[0]): Promise<Receiver> {
  const r = await new Receiver(answer).start();
  receivers.push(r);
  return r;
}

beforeAll(() => {
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  for (const r of receivers) r.close();
  await redis.quit();
});

const fresh = freshQueues("callback", () => redis);

/** A worker that may call receivers on loopback, retrying fast. */
function allowed(prefix: string, env: Record<string, string> = {}): WorkerSpec {
  return {
    redis,
    redisUrl,
    prefix,
    env: {
      EDGEQ_CALLBACK_SECRET: secret,
      EDGEQ_CALLBACK_ALLOW: "127.0.0.1",
      EDGEQ_CALLBACK_BACKOFF_MS: "50",
      ...env,
    },
  };
}

async function callbackOf(queue: Queue, id: string, status: string): Promise<JobView> {
  return until(`job ${id}'s callback to be ${status}`, 15_000, async () => {
    const job = await queue.getJob(id);
    return job?.callback?.status === status ? job : null;
  });
}

describe("the private network is off limits", () => {
  it("refuses loopback, private, link-local, CGNAT, unique-local, multicast and mapped addresses", () => {
    const none = new CallbackAllowlist([]);
    for (const address of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fd12::1",
      "fe80::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
    ]) {
      expect(none.refusal("host.example", address), address).toMatch(/private, loopback or reserved/);
    }
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700::1111"]) {
      expect(none.refusal("host.example", address), address).toBeNull();
    }
    const some = new CallbackAllowlist(["10.1.0.0/16", "receiver.internal", "::1"]);
    expect(some.refusal("x", "10.1.9.9")).toBeNull();
    expect(some.refusal("x", "10.2.0.1")).not.toBeNull();
    expect(some.refusal("receiver.internal", "192.168.0.7")).toBeNull();
    expect(some.refusal("x", "::1")).toBeNull();
  });

  test("a loopback receiver gets nothing by default; the job says the callback was refused", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const target = await receiver();
    await workers.start({ redis, redisUrl, prefix, env: { EDGEQ_CALLBACK_SECRET: secret } });
    // by address, and by a name that resolves to loopback (checked on what the socket would connect to)
    const byAddress = await queue.enqueue("echo", 1, { callbackUrl: target.url });
    const byName = await queue.enqueue("echo", 2, { callbackUrl: target.url.replace("127.0.0.1", "localhost") });
    for (const job of [byAddress, byName]) {
      const refused = await callbackOf(queue, job.id, "refused");
      expect(refused.status).toBe("finished");
      expect(refused.callback!.lastError).toMatch(/(127\.0\.0\.1|::1).*EDGEQ_CALLBACK_ALLOW/);
    }
    expect(target.received).toEqual([]);
  });

  test("a redirect is never followed", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const inside = await receiver();
    const redirecting = await receiver((_, res) => res.writeHead(302, { location: inside.url }).end());
    await workers.start(allowed(prefix));
    const job = await queue.enqueue("echo", "x", { callbackUrl: redirecting.url });
    const failed = await callbackOf(queue, job.id, "failed");
    expect(failed.callback!.lastError).toMatch(/302; redirects are not followed/);
    expect(redirecting.for(job.id)).toHaveLength(1);
    expect(inside.received).toEqual([]);
  });
});

describe("delivery", () => {
  test("an allowed receiver gets a signed POST it can verify, retried with the same webhook-id", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    // the first try is answered 503, to show the worker tries again
    const target = await receiver((_, res, nth) => res.writeHead(nth === 1 ? 503 : 204).end());
    await workers.start(allowed(prefix));
    const job = await queue.enqueue("echo", { hello: "callback" }, { callbackUrl: target.url });
    const [first, second] = await target.until(job.id, 2);
    expect(second!.event).toMatchObject({
      type: "job.finished",
      data: { id: job.id, status: "finished", result: { hello: "callback" } },
    });
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(second!.headers["webhook-signature"]).toMatch(/^v1,/);
    expect((await callbackOf(queue, job.id, "delivered")).callback).toEqual({
      status: "delivered",
      attempts: 2,
      lastError: null,
    });
  });

  test("one callback for every way a job ends, whoever ends it", async ({ workers }) => {
    const { prefix, queue, keys } = fresh();
    const target = await receiver();
    const callbackUrl = target.url;
    const runner = scriptRunner(redis);
    await workers.start(allowed(prefix));

    const finished = await queue.enqueue("echo", 1, { callbackUrl });
    const failed = await queue.enqueue("fail", { message: "nope" }, { callbackUrl, retry: { max: 1 } });
    // canceled by a producer (the edge does the same over REST)
    const later = new Queue("later", { redis, prefix });
    const canceled = await later.enqueue("echo", 2, { callbackUrl });
    await later.cancel(canceled.id);
    // a dependent canceled because its dependency failed
    const parent = await later.enqueue("fail", {});
    const dependent = await later.enqueue("echo", 3, { callbackUrl, dependsOn: [parent.id] });
    const parentClaim = { now: Date.now(), worker: "elsewhere", next: { leaseMs: 60_000, max: 1, queues: ["later"] } };
    await scripts.claim.run(runner, keys, parentClaim);
    const error = { name: "Error", message: "parent failed" };
    await scripts.fail.run(runner, keys, {
      now: Date.now(),
      worker: "elsewhere",
      jobs: [{ id: parent.id, claim: 1, error, retryable: false }],
    });
    // expired in the queue, found by a claim after its ttlSec
    const expiring = await later.enqueue("echo", 4, { callbackUrl, ttlSec: 1 });
    const afterTtl = {
      now: expiring.enqueuedAt! + 2_000,
      worker: "elsewhere",
      next: { leaseMs: 60_000, max: 1, queues: ["later"] },
    };
    expect((await scripts.claim.run(runner, keys, afterTtl)).jobs).toEqual([]);
    // abandoned: its worker stopped renewing the lease, and the running worker's maintenance failed it
    const abandoned = await later.enqueue("echo", 5, { callbackUrl });
    await scripts.claim.run(runner, keys, { ...parentClaim, next: { leaseMs: 1, max: 1, queues: ["later"] } });

    const endings: [JobView, string, string?][] = [
      [finished, "job.finished"],
      [failed, "job.failed", "Error"],
      [canceled, "job.canceled", "JobCanceledError"],
      [dependent, "job.canceled", "DependencyFailedError"],
      [expiring, "job.failed", "JobExpiredError"],
      [abandoned, "job.failed", "AbandonedJobError"],
    ];
    for (const [job, type, errorName] of endings) {
      const [got] = await target.until(job.id);
      expect(got!.event.type, job.id).toBe(type);
      if (errorName) expect(got!.event.data.error?.name, job.id).toBe(errorName);
      await callbackOf(queue, job.id, "delivered");
    }
    // exactly one each: the failed job's first attempt was retried, not ended
    for (const [job] of endings) expect(target.for(job.id), job.id).toHaveLength(1);
    expect(target.for(failed.id)[0]!.event.data).toMatchObject({ status: "failed", attempts: 2 });
  });

  test("a receiver that keeps failing is tried EDGEQ_CALLBACK_ATTEMPTS times, then the delivery is failed", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    const target = await receiver((_, res) => res.writeHead(500).end());
    await workers.start(allowed(prefix, { EDGEQ_CALLBACK_ATTEMPTS: "3" }));
    const job = await queue.enqueue("echo", "x", { callbackUrl: target.url });
    const { callback } = await callbackOf(queue, job.id, "failed");
    expect(callback).toMatchObject({ status: "failed", attempts: 3 });
    expect(callback!.lastError).toContain("500");
    const tries = target.for(job.id);
    expect(tries).toHaveLength(3);
    expect(new Set(tries.map((t) => t.headers["webhook-id"])).size).toBe(1);
  });

  test("at most EDGEQ_CALLBACK_CONCURRENCY deliveries are in flight at once", async ({ workers }) => {
    const { prefix, queue } = fresh();
    let open = 0;
    let mostOpen = 0;
    // each answer takes a while, so that deliveries overlap when they may
    const target = await receiver((_, res) => {
      mostOpen = Math.max(mostOpen, ++open);
      setTimeout(() => {
        open--;
        res.writeHead(204).end();
      }, 200);
    });
    await workers.start({ ...allowed(prefix, { EDGEQ_CALLBACK_CONCURRENCY: "2" }), flags: ["--concurrency", "4"] });
    const jobs = await queue.enqueueMany(
      Array.from({ length: 6 }, (_, i) => ({ task: "echo", args: i, options: { callbackUrl: target.url } })),
    );
    for (const job of jobs) await callbackOf(queue, job.id, "delivered");
    expect(target.received).toHaveLength(6);
    expect(mostOpen).toBe(2);
  });

  test("a worker killed mid-delivery loses nothing: another delivers it again, same webhook-id", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    // the first try is held unanswered until its worker is gone
    let release: (() => void) | undefined;
    const target = await receiver((_, res, nth) => {
      if (nth > 1) return res.writeHead(204).end();
      release = () => res.writeHead(204).end();
    });
    const env = { EDGEQ_CALLBACK_LEASE_MS: "1000" };
    const first = await workers.start(allowed(prefix, env));
    const job = await queue.enqueue("echo", "x", { callbackUrl: target.url });
    await target.until(job.id, 1);
    await first.kill();
    await workers.start(allowed(prefix, env));
    const [held, again] = await target.until(job.id, 2);
    expect(again!.headers["webhook-id"]).toBe(held!.headers["webhook-id"]);
    expect((await callbackOf(queue, job.id, "delivered")).callback!.attempts).toBe(2);
    release?.();
  });

  test("a warm shutdown lets a delivery in flight finish", async ({ workers }) => {
    const { prefix, queue } = fresh();
    let answer: (() => void) | undefined;
    const target = await receiver((_, res) => {
      answer = () => res.writeHead(204).end();
    });
    const worker = await workers.start(allowed(prefix));
    const job = await queue.enqueue("echo", "x", { callbackUrl: target.url });
    await target.until(job.id);
    worker.signal("SIGTERM");
    answer!();
    expect(await worker.waitExit(15_000)).toEqual({ code: 0, signal: null });
    expect((await queue.getJob(job.id))!.callback).toMatchObject({ status: "delivered", attempts: 1 });
  });

  test("a warm shutdown waits for a delivery in flight within a bound, and leaves it to the next worker", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    // the first try is never answered; the ones after are
    const target = await receiver((_, res, nth) => {
      if (nth > 1) res.writeHead(204).end();
    });
    // the delivery's own timeout is far off: only the shutdown's bound (kill grace + a few seconds) ends the wait
    const env = { EDGEQ_CALLBACK_TIMEOUT_MS: "120000", EDGEQ_CALLBACK_LEASE_MS: "1000" };
    const first = await workers.start(allowed(prefix, env));
    const job = await queue.enqueue("echo", "x", { callbackUrl: target.url });
    await target.until(job.id);
    first.signal("SIGTERM");
    expect(await first.waitExit(15_000)).toEqual({ code: 0, signal: null });
    expect(first.output).toContain(`"callbacksInFlight":true`);
    await workers.start(allowed(prefix, env));
    const [held, again] = await target.until(job.id, 2);
    expect(again!.headers["webhook-id"]).toBe(held!.headers["webhook-id"]);
    expect((await callbackOf(queue, job.id, "delivered")).callback!.attempts).toBe(2);
  });

  test("a --burst worker delivers its jobs' callbacks before it exits", async ({ workers }) => {
    const { prefix, queue } = fresh();
    const target = await receiver();
    const jobs = await queue.enqueueMany(
      [1, 2, 3].map((n) => ({ task: "echo", args: n, options: { callbackUrl: target.url } })),
    );
    const worker = await workers.start({ ...allowed(prefix), flags: ["--burst"], noWait: true });
    expect(await worker.waitExit(15_000)).toEqual({ code: 0, signal: null });
    for (const job of jobs) expect((await queue.getJob(job.id))!.callback?.status, job.id).toBe("delivered");
    expect(target.received).toHaveLength(3);
  });

  test("the outbox's size and its oldest entry show beside the queue counts", async ({ workers }) => {
    const { prefix, queue, keys } = fresh();
    const target = await receiver();
    const job = await queue.enqueue("echo", 1, { callbackUrl: target.url });
    await queue.cancel(job.id);
    const waiting = await describeQueues(redis, keys, { queues: ["default"] });
    expect(waiting.outbox.size).toBe(1);
    expect(waiting.outbox.oldestAt).toBeGreaterThanOrEqual(job.createdAt);
    await workers.start(allowed(prefix));
    await callbackOf(queue, job.id, "delivered");
    expect((await describeQueues(redis, keys, { queues: ["default"] })).outbox).toEqual({ size: 0, oldestAt: null });
  });
});

describe("retry pauses", () => {
  it("grow four times an attempt up to an hour, each a random point in its upper half", () => {
    const first = 10_000;
    for (const [attempt, pause] of [
      [1, 10_000],
      [2, 40_000],
      [3, 160_000],
      [6, 3_600_000],
      [20, 3_600_000],
    ] as const) {
      const samples = Array.from({ length: 200 }, () => backoffMs(first, attempt));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(pause / 2);
      expect(Math.max(...samples)).toBeLessThanOrEqual(pause);
      // jitter: retries of many deliveries that failed together spread out
      expect(new Set(samples).size).toBeGreaterThan(100);
    }
  });
});
