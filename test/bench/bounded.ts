// Bounded work: no single script call stalls Redis, however big the backlog
// an attacker (any enqueue key) or a busy deployment builds. It fills Redis
// with expired jobs in one queue, a job with a large fan-out of dependents,
// and a great many queue names, then drains all of it the way workers and
// operators do (claims, maintenance passes, queue listings, a cancel in the
// middle of a long queue) and reads the longest single call of each from
// Redis's own SLOWLOG. Run once per bench: the backlog is used up by the
// first drain, so there are no rounds to take a median of.
import type { Redis } from "ioredis";
import { describeQueues, Queue, type JobRequest } from "../../shared/index.ts";
import { scriptRunner } from "../../shared/redis.ts";
import * as scripts from "../../shared/scripts/index.ts";
import { PREFIX, type Context } from "./context.ts";
import { summarize, type Row } from "./measure.ts";
import { progress } from "./util.ts";

const SIZES = {
  quick: { expired: 100_000, queues: 10_000, fanOut: 10_000 },
  full: { expired: 1_000_000, queues: 100_000, fanOut: 100_000 },
};

/** Enqueue calls in flight while the backlog is built. */
const IN_FLIGHT = 32;
const CHUNK = 100;

/** Runs `count` calls of `call(i)`, IN_FLIGHT at a time. */
async function fill(count: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await call(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

/** The longest script call Redis logged since the last reset, in ms, and how many calls took over 1 ms. */
async function slowest(admin: Redis): Promise<{ maxMs: number; over1ms: number }> {
  const entries = (await admin.call("SLOWLOG", "GET", "-1")) as [number, number, number, string[]][];
  const scriptCalls = entries.filter(([, , , argv]) => /^(evalsha|eval)/i.test(String(argv[0])));
  const maxMs = Math.max(0, ...scriptCalls.map(([, , micros]) => micros / 1000));
  return { maxMs, over1ms: scriptCalls.length };
}

export async function boundedWork(ctx: Context): Promise<Row[]> {
  const { admin } = ctx.redis;
  const size = SIZES[ctx.profile.name];
  const runner = scriptRunner(admin);
  const prefix = `${PREFIX}-bounded`;
  const queue = (name: string) => new Queue(name, { redis: admin, prefix });
  const backlog = queue("backlog");
  const keys = backlog.keys;
  const rows: Row[] = [];

  await admin.flushall();
  await admin.config("SET", "slowlog-log-slower-than", "1000");
  await admin.config("SET", "slowlog-max-len", "100000");
  progress(`bounded: ${size.expired.toLocaleString("en-US")} jobs that expire in the queue`);
  const expiring: JobRequest[] = Array.from({ length: CHUNK }, () => ({ task: "noop", options: { ttlSec: 1 } }));
  await fill(size.expired / CHUNK, () => backlog.enqueueMany(expiring));
  const live = await backlog.enqueue("noop");
  progress(`bounded: one job with ${size.fanOut.toLocaleString("en-US")} dependents`);
  const parent = await queue("fan").enqueue("noop");
  const dependent: JobRequest[] = Array.from({ length: CHUNK }, () => ({
    task: "noop",
    options: { dependsOn: [parent.id] },
  }));
  await fill(size.fanOut / CHUNK, () => queue("fan").enqueueMany(dependent));
  progress(`bounded: ${size.queues.toLocaleString("en-US")} queue names`);
  await fill(size.queues, (i) => queue(`q${i}`).enqueue("noop"));
  const later = Date.now() + 2_000;

  const measured = async (id: string, label: string, note: string, drain: () => Promise<number>) => {
    await admin.call("SLOWLOG", "RESET");
    const began = performance.now();
    const calls = await drain();
    const seconds = (performance.now() - began) / 1000;
    const { maxMs, over1ms } = await slowest(admin);
    progress(`bounded: ${label}: ${calls} calls in ${seconds.toFixed(1)} s, longest ${maxMs.toFixed(2)} ms`);
    rows.push({
      id: `bounded-${id}`,
      scenario: "7. Bounded work",
      case: label,
      figures: {
        "longest call ms": summarize([maxMs]),
        calls: summarize([calls]),
        "calls > 1 ms": summarize([over1ms]),
        "total s": summarize([seconds]),
      },
      note,
    });
  };

  await measured(
    "claim-expired",
    `claim through ${size.expired.toLocaleString("en-US")} expired jobs`,
    "each claim fails at most a batch of expired jobs and says more remain",
    async () => {
      let calls = 0;
      for (;;) {
        calls++;
        const step = await scripts.claim.run(runner, keys, {
          now: later,
          worker: "bench",
          next: { leaseMs: 60_000, max: 1, queues: ["backlog"] },
        });
        if (step.jobs.length) {
          if (step.jobs[0]!.id !== live.id) throw new Error("bounded: claimed the wrong job");
          return calls;
        }
        if (!step.more) throw new Error("bounded: the live job was never claimed");
      }
    },
  );

  await measured(
    "maintenance",
    `maintenance over ${size.queues.toLocaleString("en-US")} queues`,
    "each pass visits a share of the queues and resumes where the last stopped",
    async () => {
      let calls = 1;
      while ((await scripts.recover.run(runner, keys, { now: later + calls, lockMs: 60_000 })).more) calls++;
      return calls;
    },
  );

  await measured(
    "fan-out",
    `fail a job with ${size.fanOut.toLocaleString("en-US")} dependents, then maintenance`,
    "the failure cancels a batch of dependents; maintenance passes cancel the rest",
    async () => {
      let calls = 2;
      // the next minute's maintenance: the pass measured above holds the lock
      await admin.del(keys.maintenanceLock());
      await scripts.claim.run(runner, keys, {
        now: later,
        worker: "bench",
        next: { leaseMs: 60_000, max: 1, queues: ["fan"] },
      });
      await scripts.fail.run(runner, keys, {
        now: later,
        worker: "bench",
        jobs: [{ id: parent.id, claim: 1, error: { name: "Error", message: "boom" }, retryable: false }],
      });
      // maintenance passes back to back, as a worker runs them while one says more remains
      while ((await admin.llen(keys.cascade())) > 0) {
        await scripts.recover.run(runner, keys, { now: later + calls, lockMs: 60_000 });
        calls++;
      }
      return calls;
    },
  );

  await measured(
    "describe",
    `GET /v1/queues over ${size.queues.toLocaleString("en-US")} queues, every page`,
    "one page of queues per call",
    async () => {
      let calls = 0;
      let cursor: string | null = null;
      do {
        calls++;
        const page = await describeQueues(admin, keys, cursor ? { cursor } : {});
        cursor = page.nextCursor;
      } while (cursor);
      return calls;
    },
  );

  const plain: JobRequest[] = Array.from({ length: CHUNK }, () => ({ task: "noop" }));
  const middle = await queue("long").enqueueMany(plain);
  await fill(size.expired / CHUNK, () => queue("long").enqueueMany(plain));
  await measured(
    "cancel-long",
    `cancel a job in a queue of ${size.expired.toLocaleString("en-US")}`,
    "waiting jobs are a sorted set: removing one is O(log n)",
    async () => {
      await queue("long").cancel(middle[CHUNK / 2]!.id);
      return 1;
    },
  );

  await measured(
    "list-long",
    `list a page of a queue of ${size.expired.toLocaleString("en-US")}`,
    "O(log n + limit) per page",
    async () => {
      await queue("long").list("queued", { limit: 200 });
      return 1;
    },
  );

  await admin.config("SET", "slowlog-log-slower-than", "10000");
  await admin.flushall();
  return rows;
}
