// Scripts that run under Upstash's key-level locks: a script that says
// `--- @key-locking` is sent over REST with the `allow-key-locking` flag, and
// Upstash then locks only its KEYS, so every key it touches must be among
// them. Upstash is not reachable from the tests; Redis's own MONITOR is: it
// shows each command a script runs, and COMMAND GETKEYS names that command's
// keys. Through the real gateway, the flagged scripts run as Redis runs them.
import { randomBytes } from "node:crypto";
import { Redis as Upstash } from "@upstash/redis";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Keys, Queue } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import * as scripts from "../shared/scripts/index.ts";
import { declareTasks } from "../shared/tasks.ts";
import { withoutKeyLocking } from "../worker-node/gateway/key-locking.ts";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { uniquePrefix } from "./support/prefixes.ts";

const url = inject("redisUrl");
const prefix = uniquePrefix("key-locking");
const keys = Keys.forPrefix(prefix);
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = new Redis(url);
  queue = new Queue("default", { redis, prefix });
});

afterAll(async () => {
  await redis.quit();
});

/** The keys of every command a script ran while `run` went, as Redis names them. */
async function keysTouched(run: () => Promise<unknown>): Promise<Set<string>> {
  const monitor = await redis.monitor();
  const commands: string[][] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === "lua") commands.push(args);
  });
  await run();
  // MONITOR delivers in order: once the marker is seen, so is every command before it
  const marker = `marker-${randomBytes(4).toString("hex")}`;
  const seen = new Promise<void>((resolve) =>
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[1] === marker) resolve();
    }),
  );
  await redis.echo(marker);
  await seen;
  monitor.disconnect();
  const touched = new Set<string>();
  for (const command of commands) {
    const named = (await redis.call("COMMAND", "GETKEYS", ...command).catch(() => [])) as string[];
    for (const key of named) touched.add(key);
  }
  return touched;
}

describe("scripts under key-level locks", () => {
  const cases: [name: string, call: () => Promise<scripts.Call<unknown>>][] = [
    ["getJob", async () => scripts.getJob.call(keys, { id: (await queue.enqueue("t")).id })],
    ["getJob", async () => scripts.getJob.call(keys, { id: "no-such-job" })],
    ["getAttempts", async () => scripts.getAttempts.call(keys, { id: (await queue.enqueue("t")).id })],
    [
      "getLogs",
      async () => {
        const { id } = await queue.enqueue("t");
        const runner = scriptRunner(redis);
        const next = { leaseMs: 30_000, max: 100, queues: [queue.name] };
        await scripts.claim.run(runner, keys, { now: Date.now(), worker: "w", next });
        const logs = [JSON.stringify({ at: 1, attempt: 1, text: "a" })];
        const written = await scripts.progress.run(runner, keys, { id, worker: "w", claim: 1, update: { logs } });
        expect(written).toEqual({ ok: true });
        return scripts.getLogs.call(keys, { id, offset: 0, limit: 10 });
      },
    ],
    ["seenDelivery", async () => scripts.seenDelivery.call(keys, { id: (await queue.enqueue("t")).id })],
    [
      "seenDelivery",
      async () => {
        const { id } = await queue.enqueue("t");
        await scripts.rememberDelivery.run(scriptRunner(redis), keys, { id, now: Date.now(), windowSec: 60 });
        return scripts.seenDelivery.call(keys, { id });
      },
    ],
    [
      "rememberDelivery",
      async () => scripts.rememberDelivery.call(keys, { id: "hook:x:1", now: Date.now(), windowSec: 60 }),
    ],
    [
      "countRequest",
      async () => scripts.countRequest.call(keys, { now: Date.now(), key: "k1", requests: 5, windowMs: 60_000 }),
    ],
    [
      "getTasks",
      async () => {
        await declareTasks(redis, keys, ["default"], [{ name: "t", args: null }]);
        return scripts.getTasks.call(keys, { queues: ["default", "other"] });
      },
    ],
    [
      "queueEvents",
      async () => {
        await queue.enqueue("t");
        return scripts.queueEvents.call(keys, { queue: "default", after: "0-0", count: 10 });
      },
    ],
    ["queueEvents", async () => scripts.queueEvents.call(keys, { queue: "default", after: "", count: 10 })],
  ];

  it("has a case for every script that says @key-locking", () => {
    const flagged = Object.entries(scripts)
      .filter(([, value]) => value instanceof scripts.Transition && value.script.compiled.keyLockingSha !== undefined)
      .map(([name]) => name);
    expect(new Set(cases.map(([name]) => name))).toEqual(new Set(flagged));
  });

  for (const [name, make] of cases) {
    it(`${name} touches only its KEYS`, async () => {
      const call = await make();
      const touched = await keysTouched(() => call.script.exec(scriptRunner(redis), call.keys, call.argv));
      expect(touched.size).toBeGreaterThan(0);
      expect([...touched].filter((key) => !call.keys.includes(key))).toEqual([]);
    });
  }
});

describe("the gateway, for scripts flagged allow-key-locking", () => {
  const token = randomBytes(12).toString("hex");
  let gateway: Gateway;
  let rest: Queue;

  beforeAll(async () => {
    gateway = await startGateway({ redisUrl: url, token, port: 0, logger: pino({ level: "silent" }) });
    rest = new Queue("default", { redis: new Upstash({ url: gateway.url, token, enableTelemetry: false }), prefix });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it("drops the flag Redis refuses, and then answers the flagged SHA without the source", async () => {
    const job = await queue.enqueue("t", { n: 1 });
    const calls = async (command: string) => {
      const line = (await redis.info("commandstats")).split("\r\n").find((l) => l.startsWith(`cmdstat_${command}:`));
      return Number(/calls=(\d+)/.exec(line ?? "")?.[1] ?? 0);
    };
    await redis.script("FLUSH");
    // first: NOSCRIPT, then the flagged source, which the gateway runs without the flag
    expect(await rest.getJob(job.id)).toMatchObject({ id: job.id, args: { n: 1 } });
    const evals = await calls("eval");
    expect(await rest.getJob(job.id)).toMatchObject({ id: job.id });
    expect(await rest.getJob(job.id)).toMatchObject({ id: job.id });
    expect(await calls("eval")).toBe(evals);
  });

  it("keeps the shebang line, so a script's error names the same line", () => {
    const source = "#!lua flags=no-writes,allow-key-locking\nreturn 1\n";
    expect(withoutKeyLocking(source)).toBe("#!lua flags=no-writes\nreturn 1\n");
    expect(withoutKeyLocking("#!lua flags=allow-key-locking\nreturn 1\n")).toBe("#!lua\nreturn 1\n");
    expect(withoutKeyLocking("#!lua flags=no-writes\nreturn 1\n")).toBe("#!lua flags=no-writes\nreturn 1\n");
    expect(withoutKeyLocking("return 1\n")).toBe("return 1\n");
  });
});
