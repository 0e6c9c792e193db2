// Tasks that declare their arguments, on the worker's side, with real workers:
// a worker declares its tasks' JSON Schemas for its queues when it starts,
// checks a job's args against the schema before the task runs (whichever
// way the job came in), and hands the task the schema's output. The edge's
// side is test/edge/tasks.test.ts. `npm test` type-checks this file too: the
// expected errors at the end are the compile-time checks a producer gets from
// `Queue<typeof tasks>`.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { Queue } from "../shared/index.ts";
import type { tasks } from "./fixtures/typed-tasks.ts";
import type { TaskContext } from "../worker-node/task.ts";
import { freshQueues } from "./support/prefixes.ts";
import { test, until } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const TYPED_TASKS = "test/fixtures/typed-tasks.ts";
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  await redis.quit();
});

const fresh = freshQueues<typeof tasks>("tasks", () => redis);

describe.concurrent("a worker and its declared tasks", () => {
  for (const isolation of ["process", "thread", "inline"]) {
    test(`declares each task's JSON Schema for its queues when it starts (${isolation})`, async ({ workers }) => {
      const { prefix, queue } = fresh();
      const other = new Queue("other", { redis, prefix });
      await workers.start({
        redis,
        redisUrl,
        prefix,
        tasks: TYPED_TASKS,
        queues: ["default", "other"],
        flags: ["--isolation", isolation],
      });
      await until("the tasks to be declared", 10_000, async () => ((await queue.info()).tasks ?? []).length === 3);
      const declared = (await queue.info()).tasks!;
      expect(declared.map((t) => t.name)).toEqual(["hello", "remind", "resize"]);
      expect(declared.find((t) => t.name === "resize")!.args).toMatchObject({
        type: "object",
        required: ["url", "width"],
        properties: { width: { type: "integer", minimum: 1 } },
      });
      // a plain function, and a schema JSON Schema cannot say (a date): no schema, any args
      expect(declared.filter((t) => t.args === null).map((t) => t.name)).toEqual(["hello", "remind"]);
      expect((await other.info()).tasks?.map((t) => t.name)).toEqual(["hello", "remind", "resize"]);
    });
  }

  test("checks args before a task runs: bad ones fail at once, naming the path; good ones as the schema gives", async ({
    workers,
  }) => {
    const { prefix, queue } = fresh();
    await workers.start({ redis, redisUrl, prefix, tasks: TYPED_TASKS });
    // a producer over TCP skips the edge's check; the worker's still holds
    const bad = await queue.enqueue("resize", { url: "https://example.com/a.png", width: 0 }, { retry: { max: 3 } });
    const failed = await queue.waitFor(bad.id, { timeoutMs: 15_000 });
    expect(failed).toMatchObject({ status: "failed", attempts: 1, error: { name: "InvalidArgsError" } });
    expect(failed.error!.message).toContain("args.width");

    const good = await queue.enqueue("resize", { url: "https://example.com/a.png", width: 64 });
    const finished = await queue.waitFor(good.id, { timeoutMs: 15_000 });
    expect(finished.status).toBe("finished");
    // typed: the result is what resize returns, fit filled in by the schema's default
    const fit: "cover" | "contain" | undefined = finished.result?.fit;
    expect(fit).toBe("cover");

    const at = "2026-01-02T03:04:05.000Z";
    expect((await queue.waitFor((await queue.enqueue("remind", { at })).id, { timeoutMs: 15_000 })).result).toBe(at);
  });
});

// Compile-time only: what Queue<typeof tasks> refuses. Never called.
async function typeChecks(queue: Queue<typeof tasks>): Promise<void> {
  // @ts-expect-error no such task
  await queue.enqueue("resise", { url: "u", width: 1 });
  // @ts-expect-error width is a number
  await queue.enqueue("resize", { url: "u", width: "wide" });
  // @ts-expect-error args are required
  await queue.enqueue("hello");
  const job = await queue.enqueue("hello", { name: "x" });
  const done = await queue.waitFor(job.id);
  // @ts-expect-error hello returns a string
  const n: number | null = done.result;
  void n;
  await queue.enqueueMany([
    { task: "hello", args: { name: "a" } },
    // @ts-expect-error a batch's jobs are checked one by one
    { task: "resize", args: { url: "u" } },
  ]);
}
void typeChecks;

// Compile-time only: what a parent's TaskContext<typeof tasks> checks of the children it invokes. Never called.
async function invokeChecks(ctx: TaskContext<typeof tasks>): Promise<void> {
  // @ts-expect-error no such task
  await ctx.invoke("a", "resise", { url: "u", width: 1 });
  // @ts-expect-error width is a number
  await ctx.invoke("b", "resize", { url: "u", width: "wide" });
  const resized = await ctx.invoke("c", "resize", { url: "u", width: 1 }, { queue: "images" });
  const url: string = resized.url;
  // @ts-expect-error hello answers a string
  const n: number = await ctx.invoke("d", "hello", { name: "x" });
  const paid = await ctx.waitForEvent<{ amount: number }>("e", { event: "paid", timeoutMs: 1 });
  const amount: number | undefined = paid?.amount;
  void [url, n, amount];
}
void invokeChecks;
