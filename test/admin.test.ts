// The admin CLI as an operator runs it, against the run's redis-server.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import * as scripts from "../shared/scripts/index.ts";
import { uniquePrefix } from "./support/redis.ts";

const prefix = uniquePrefix("admin");
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
  queue = new Queue("mail", { redis, prefix });
});

afterAll(async () => {
  const keys = await redis.keys(`{${prefix}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

async function admin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, REDIS_URL: inject("redisUrl"), EDGEQ_PREFIX: prefix };
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "worker-node/cli/admin.ts", ...args],
      { env },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("admin CLI", () => {
  it("shows counts per queue, a job, and requeues a failed one", async () => {
    const waiting = await queue.enqueue("send", { to: "a@example.com" });
    const failing = await queue.enqueue("send", { to: "b@example.com" });
    const runner = scriptRunner(redis);
    await scripts.claim.run(runner, queue.keys, {
      now: Date.now(),
      worker: "w",
      next: { leaseMs: 30_000, max: 2, queues: ["mail"] },
    });
    const error = { name: "Error", message: "smtp down" };
    await scripts.fail.run(runner, queue.keys, {
      now: Date.now(),
      id: failing.id,
      worker: "w",
      error,
      retryable: false,
    });

    const queues = await admin("queues");
    expect(queues.code).toBe(0);
    const row = queues.stdout
      .split("\n")
      .find((line) => line.startsWith("mail"))!
      .split(/\s+/);
    const header = queues.stdout.split("\n")[0]!.split(/\s+/);
    expect(row[header.indexOf("started")]).toBe("1");
    expect(row[header.indexOf("failed")]).toBe("1");

    const shown = await admin("job", failing.id);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      id: failing.id,
      status: "failed",
      error: { message: "smtp down" },
    });

    const requeued = await admin("requeue", failing.id);
    expect(JSON.parse(requeued.stdout).status).toBe("queued");
    expect((await queue.getJob(failing.id))!.status).toBe("queued");

    const refused = await admin("requeue", waiting.id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`job "${waiting.id}" is started and cannot be requeued`);
  });

  it("names a missing job and explains its usage", async () => {
    const missing = await admin("cancel", "no-such-job");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no job with id "no-such-job"');
    const usage = await admin("frobnicate");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("usage:");
  });
});
