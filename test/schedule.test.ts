// Recurring jobs against a real redis-server and real workers: cron with
// time zones (ticks as croner computes them, daylight saving included) and
// intervals, one job per tick across the fleet, and missed ticks run once.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue, ScheduleNotFoundError, Schedules, ValidationError } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import { fireDueSchedules, Ticks } from "../shared/schedule.ts";
import { freshQueues } from "./support/prefixes.ts";
import { test, until } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  await redis.quit();
});

const freshQueue = freshQueues("schedule", () => redis);

function fresh() {
  const { prefix, queue } = freshQueue();
  return { prefix, schedules: new Schedules({ redis, prefix }), queue };
}

const at = (iso: string) => Date.parse(iso);

describe("ticks", () => {
  it("follows a cron expression in its time zone, across a daylight-saving change as croner does", () => {
    const daily = new Ticks({ queue: "q", task: "t", cron: "30 2 * * *", tz: "Europe/Berlin" }, 0);
    // 2:30 does not exist in Berlin on 2026-03-29 (clocks jump from 2:00 to 3:00): croner documents that a
    // fixed-time job runs at the first valid time after the gap, on the same day, 3:00 local
    expect(daily.next(at("2026-03-28T12:00:00Z"), 3)).toEqual([
      at("2026-03-29T01:00:00Z"),
      at("2026-03-30T00:30:00Z"),
      at("2026-03-31T00:30:00Z"),
    ]);
    const every5 = new Ticks({ queue: "q", task: "t", cron: "*/5 * * * *" }, 0);
    expect(every5.latest(at("2026-01-01T10:07:00Z"))).toBe(at("2026-01-01T10:05:00Z"));
    expect(every5.latest(at("2026-01-01T10:10:00Z"))).toBe(at("2026-01-01T10:10:00Z"));
  });

  it("anchors an interval at the schedule's creation", () => {
    const ticks = new Ticks({ queue: "q", task: "t", everyMs: 60_000 }, 1_000);
    expect(ticks.next(1_000, 2)).toEqual([61_000, 121_000]);
    expect(ticks.next(61_000)).toEqual([121_000]);
    expect(ticks.latest(200_000)).toBe(181_000);
    expect(ticks.latest(30_000)).toBeNull();
  });
});

describe("schedules", () => {
  it("creates, replaces, reads, lists and removes a schedule", async () => {
    const { schedules } = fresh();
    const first = await schedules.set("nightly", { queue: "default", task: "report", cron: "0 3 * * *", tz: "UTC" });
    expect(first.created).toBe(true);
    expect(first.schedule).toMatchObject({ name: "nightly", queue: "default", task: "report", lastRunAt: null });
    expect(first.schedule.nextRuns).toHaveLength(5);
    expect(new Date(first.schedule.nextRuns[0]!).getUTCHours()).toBe(3);
    const again = await schedules.set("nightly", { queue: "default", task: "report", everyMs: 60_000, args: { a: 1 } });
    expect(again.created).toBe(false);
    expect(again.schedule).toMatchObject({ everyMs: 60_000, args: { a: 1 } });
    expect(again.schedule.cron).toBeUndefined();
    await schedules.set("often", { queue: "other", task: "ping", everyMs: 1_000 });
    expect((await schedules.list()).map((s) => s.name)).toEqual(["often", "nightly"]);
    const info = await new Queue("other", { redis, prefix: schedules.keys.root.slice(1, -1) }).info();
    expect(info.schedules?.map((s) => s.name)).toEqual(["often"]);
    await schedules.remove("often");
    expect(await schedules.get("often")).toBeNull();
    await expect(schedules.remove("often")).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it("refuses a bad spec, naming the field, and writes nothing", async () => {
    const { schedules } = fresh();
    const bad = [
      [{ queue: "q", task: "t" }, "cron"],
      [{ queue: "q", task: "t", cron: "* * * * *", everyMs: 1000 }, "cron"],
      [{ queue: "q", task: "t", cron: "61 * * * *" }, "cron"],
      [{ queue: "q", task: "t", cron: "* * * * *", tz: "Mars/Base" }, "tz"],
      [{ queue: "q", task: "t", everyMs: 1000, tz: "UTC" }, "tz"],
      [{ queue: "q", task: "t", everyMs: 10 }, "everyMs"],
      [{ queue: "q", task: "t", everyMs: 1000, options: { id: "x" } }, "options.id"],
    ] as const;
    for (const [spec, field] of bad) {
      const error = await schedules.set("bad", spec as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(spec)).toBeInstanceOf(ValidationError);
      expect(
        (error as ValidationError).issues.map((i) => i.field),
        JSON.stringify(spec),
      ).toContain(field);
    }
    expect(await schedules.list()).toEqual([]);
  });
});

describe("firing", () => {
  it("makes one job for the latest missed tick, then waits for the next; a second firing makes none", async () => {
    const { schedules, queue, prefix } = fresh();
    const runner = scriptRunner(redis);
    await schedules.set("tick", { queue: "default", task: "echo", args: { hi: 1 }, everyMs: 1_000 });
    const { createdAt } = (await schedules.get("tick"))!;
    // seven ticks were missed while no worker ran: the latest one runs, once
    const later = createdAt + 7_500;
    const first = await fireDueSchedules(runner, schedules.keys, later);
    expect(first).toEqual({ fired: [`schedule:tick:${createdAt + 7_000}`], nextAt: createdAt + 8_000 });
    expect(await fireDueSchedules(runner, schedules.keys, later)).toEqual({ fired: [], nextAt: createdAt + 8_000 });
    expect(await queue.getJob(`schedule:tick:${createdAt + 7_000}`)).toMatchObject({ task: "echo", args: { hi: 1 } });
    expect(await queue.counts()).toMatchObject({ queued: 1 });
    expect((await schedules.get("tick"))!).toMatchObject({
      lastRunAt: createdAt + 7_000,
      nextRuns: [createdAt + 8_000, createdAt + 9_000, createdAt + 10_000, createdAt + 11_000, createdAt + 12_000],
    });

    // two workers racing on the next tick: one fires it
    const racing = await Promise.all([
      fireDueSchedules(runner, schedules.keys, createdAt + 8_000),
      fireDueSchedules(scriptRunner(new Redis(redisUrl)), schedules.keys, createdAt + 8_000),
    ]);
    expect(racing.flatMap((r) => r.fired)).toEqual([`schedule:tick:${createdAt + 8_000}`]);

    // a tick fired again (its schedule's time restored, as after a crash) finds its job made: none more
    await redis.zadd(schedules.keys.schedules(), createdAt + 8_000, "tick");
    await fireDueSchedules(runner, schedules.keys, createdAt + 8_000);
    expect(await queue.counts()).toMatchObject({ queued: 2 });
    expect(prefix).toBeTruthy();
  });

  test("two workers serve one schedule: every tick makes one job, and an idle worker wakes for it", async ({
    workers,
  }) => {
    const { schedules, queue, prefix } = fresh();
    const env = { EDGEQ_HEARTBEAT_MS: "60000", EDGEQ_MAINTENANCE_MS: "60000" };
    await workers.start({ redis, redisUrl, prefix, env });
    await workers.start({ redis, redisUrl, prefix, env });
    await schedules.set("pulse", { queue: "default", task: "echo", args: "beat", everyMs: 1_000 });
    const finished = await until("three ticks' jobs to finish", 15_000, async () => {
      const { jobs } = await queue.list("finished", { limit: 50 });
      return jobs.length >= 3 ? jobs : null;
    });
    const ticks = finished.map((j) => Number(j.id.split(":").at(-1)));
    expect(new Set(ticks).size).toBe(ticks.length);
    const { createdAt } = (await schedules.get("pulse"))!;
    for (const tick of ticks) expect((tick - createdAt) % 1_000).toBe(0);
    expect(finished.every((j) => j.result === "beat")).toBe(true);
  });
});
