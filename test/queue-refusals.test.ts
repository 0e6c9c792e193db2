// The producer API (shared/queue.ts) against a real redis-server, given bad
// input: queue names, ids, task names, args and options refused with a
// ValidationError that names the field, and nothing written to Redis.
import { describe, expect, it } from "vitest";
import { DEFAULTS, Queue, ValidationError, type JobOptions } from "../shared/index.ts";
import { connectForFile, redis } from "./support/connection.ts";
import { freshQueues } from "./support/prefixes.ts";
import { expectRefused } from "./support/refusals.ts";

connectForFile();

/** A queue under a key prefix of its own, so every test starts from an empty keyspace. */
const fresh = freshQueues("queue-refusals", () => redis);

describe("bad input is refused with a ValidationError naming the field, and nothing is written", () => {
  it("refuses an invalid queue name when the Queue is made", () => {
    for (const name of ["bad name!", "", "x".repeat(65), "a/b", "{edgeq}"]) {
      let error: unknown;
      try {
        new Queue(name, { redis });
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toEqual(["queue"]);
    }
    expect(new Queue("x".repeat(64), { redis }).name).toHaveLength(64);
  });

  it("refuses an invalid job id", async () => {
    const env = fresh();
    for (const id of ["has space", "", "x".repeat(129), "a/b", "é"]) {
      await expectRefused(env, (q) => q.enqueue("t", null, { id }), "options.id");
    }
    const ok = await env.queue.enqueue("t", null, { id: `A-z_0.9:${"x".repeat(120)}` });
    expect(ok.id).toHaveLength(128);
  });

  it("refuses an invalid task name", async () => {
    const env = fresh();
    for (const task of ["bad task", "", "x".repeat(129), "rm -rf", "a\nb"]) {
      await expectRefused(env, (q) => q.enqueue(task), "task");
    }
  });

  it("refuses args that are not JSON", async () => {
    const env = fresh();
    class Point {
      x = 1;
    }
    const notJson: [string, unknown][] = [
      ["a function", () => 1],
      ["undefined inside an object", { a: undefined }],
      ["undefined inside an array", [1, undefined]],
      ["NaN", NaN],
      ["Infinity", Infinity],
      ["-Infinity", { deep: { x: -Infinity } }],
      ["a Date", new Date()],
      ["a Map", new Map([["a", 1]])],
      ["a Set", new Set([1])],
      ["a BigInt", 10n],
      ["a class instance", new Point()],
      ["a symbol", Symbol("s")],
      ["NaN nested", { a: [1, { b: NaN }] }],
    ];
    for (const [label, args] of notJson) {
      const error = await expectRefused(env, (q) => q.enqueue("t", args), /^args(\.|$)/);
      expect(error.message, label).toMatch(/^args/);
    }
  });

  it("refuses args over the default 512 KiB, counting bytes of JSON", async () => {
    const env = fresh();
    const limit = DEFAULTS.maxArgsBytes;
    expect(limit).toBe(512 * 1024);
    // a JSON string is its characters plus two quotes
    const atLimit = await env.queue.enqueue("t", "x".repeat(limit - 2));
    expect((atLimit.args as string).length).toBe(limit - 2);
    const error = await expectRefused(env, (q) => q.enqueue("t", "x".repeat(limit - 1)), "args");
    expect(error.message).toContain(String(limit));
    // bytes, not characters: "é" is two bytes of UTF-8
    await expectRefused(env, (q) => q.enqueue("t", "é".repeat(limit / 2)), "args");
  });

  it("honours the maxArgsBytes option", async () => {
    const env = fresh("default", { maxArgsBytes: 100 });
    await env.queue.enqueue("t", "x".repeat(98));
    await expectRefused(env, (q) => q.enqueue("t", "x".repeat(99)), "args");
    await expectRefused(env, (q) => q.enqueue("t", { list: Array.from({ length: 50 }, (_, i) => i) }), "args");
  });

  it("refuses unknown options", async () => {
    const env = fresh();
    const error = await expectRefused(env, (q) => q.enqueue("t", null, { timeout: 5 } as JobOptions), /^options/);
    // the refusal must say which option is unknown
    const issue = error.issues.find((i) => i.field.startsWith("options"))!;
    expect(`${issue.field} ${issue.message}`).toContain("timeout");
    await expectRefused(
      env,
      (q) => q.enqueue("t", null, { retry: { max: 1, tries: 3 } } as JobOptions),
      /^options\.retry/,
    );
  });

  it("refuses runAt together with delayMs", async () => {
    const env = fresh();
    await expectRefused(
      env,
      (q) => q.enqueue("t", null, { runAt: Date.now() + 1000, delayMs: 1000 }),
      /^options\.(delayMs|runAt)$/,
    );
  });

  it("refuses bad numbers and shapes in options", async () => {
    const env = fresh();
    const cases: [JobOptions, string][] = [
      [{ timeoutMs: -1 }, "options.timeoutMs"],
      [{ timeoutMs: 0 }, "options.timeoutMs"],
      [{ timeoutMs: 1.5 }, "options.timeoutMs"],
      [{ retry: { max: 1.5 } }, "options.retry.max"],
      [{ retry: { max: -1 } }, "options.retry.max"],
      [{ retry: { max: 1, backoff: { type: "linear" as "fixed", delayMs: 1 } } }, "options.retry.backoff.type"],
      [{ delayMs: -5 }, "options.delayMs"],
      [{ runAt: "tomorrow" }, "options.runAt"],
      [{ runAt: new Date("not a date") }, "options.runAt"],
      // a job parked for years would hold its memory that long
      [{ runAt: Date.now() + 366 * 86_400_000 }, "options.runAt"],
      [{ runAt: "2999-01-01T00:00:00Z" }, "options.runAt"],
      [{ ttlSec: 0 }, "options.ttlSec"],
      [{ resultTtlSec: 2.5 }, "options.resultTtlSec"],
      [{ dependsOn: ["ok", "not ok"] }, "options.dependsOn.1"],
      [{ callbackUrl: "ftp://example.com/x" }, "options.callbackUrl"],
      [{ atFront: "yes" as unknown as boolean }, "options.atFront"],
      [{ meta: { when: new Date() } as unknown as JobOptions["meta"] }, "options.meta.when"],
    ];
    for (const [options, field] of cases) {
      await expectRefused(env, (q) => q.enqueue("t", null, options), field);
    }
  });

  it("names every bad field at once", async () => {
    const env = fresh();
    const error = await expectRefused(env, (q) => q.enqueue("bad task", () => 1, { timeoutMs: -1 }), "task");
    expect(error.issues.map((i) => i.field).sort()).toEqual(["args", "options.timeoutMs", "task"]);
  });

  it("refuses a dependency that does not exist, naming options.dependsOn", async () => {
    const env = fresh();
    const dep = await env.queue.enqueue("t");
    const error = await expectRefused(
      env,
      (q) => q.enqueue("t", null, { id: "child", dependsOn: [dep.id, "ghost"] }),
      "options.dependsOn",
    );
    expect(error.message).toContain("ghost");
    expect(await env.queue.getJob("child")).toBeNull();
  });
});
