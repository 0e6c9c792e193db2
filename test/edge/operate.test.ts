// Operating queues over HTTP, inside workerd against the real gateway and
// Redis: listing a status a page at a time, pause and resume, settings, bulk
// actions, a job's attempts, and /metrics read with a Prometheus parser.
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { DEFAULTS, type JobView, type QueueInfo } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { call, expectProblem, failJob, finish, jsonOf, KEYS, makeApp, queue, start, WORKER } from "./support.ts";

const prefix = uniquePrefix("operate");
const app = makeApp(prefix);
const admin = { key: KEYS.admin };

type Page = { jobs: JobView[]; nextCursor: string | null };

describe("listing a queue's jobs", () => {
  it("pages through a status with opaque cursors", async () => {
    const jobs = await queue(prefix, "listed").enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({ task: "t", args: i })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `status=queued&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page: Page = await jsonOf<Page>(await call(app, "GET", `/v1/queues/listed/jobs?${query}`, admin), 200);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(jobs.map((j) => j.id));
  });

  it("refuses a bad status, limit or cursor by name, and a key that does not reach the queue", async () => {
    for (const query of ["status=waiting", "status=queued&limit=500", "status=queued&cursor=%7B%7D"]) {
      const body = await expectProblem(await call(app, "GET", `/v1/queues/listed/jobs?${query}`, admin), 400);
      expect(body.errors?.map((e) => e.field).join()).toMatch(/status|limit|cursor/);
    }
    await expectProblem(await call(app, "GET", "/v1/queues/listed/jobs?status=queued", { key: KEYS.browser }), 403);
  });
});

describe("queue controls", () => {
  it("pauses and resumes; sets and removes a rate limit and a fleet concurrency", async () => {
    const paused = await jsonOf<QueueInfo>(await call(app, "POST", "/v1/queues/ctl/pause", admin), 200);
    expect(paused).toMatchObject({ name: "ctl", paused: true });
    const set = await call(app, "PATCH", "/v1/queues/ctl", {
      ...admin,
      body: { limit: { max: 5, perMs: 1000 }, concurrency: 3 },
    });
    expect(await jsonOf<QueueInfo>(set, 200)).toMatchObject({
      paused: true,
      limit: { max: 5, perMs: 1000 },
      concurrency: 3,
    });
    const resumed = await jsonOf<QueueInfo>(await call(app, "POST", "/v1/queues/ctl/resume", admin), 200);
    expect(resumed.paused).toBe(false);
    const cleared = await call(app, "PATCH", "/v1/queues/ctl", { ...admin, body: { limit: null } });
    const info = await jsonOf<QueueInfo>(cleared, 200);
    expect(info.limit).toBeUndefined();
    expect(info.concurrency).toBe(3);
  });

  it("needs the admin scope, and refuses unknown settings", async () => {
    await expectProblem(await call(app, "POST", "/v1/queues/web/pause", { key: KEYS.browser }), 403);
    const bad = await call(app, "PATCH", "/v1/queues/ctl", { ...admin, body: { paused: true, speed: 11 } });
    expect((await expectProblem(bad, 400)).errors?.map((e) => e.field)).toContain("speed");
  });

  it("requeues every failed job, empties a queue and cleans old ended jobs", async () => {
    const q = queue(prefix, "bulk");
    const [a, b] = await q.enqueueMany([{ task: "t" }, { task: "t" }]);
    for (const job of [a!, b!]) {
      await start(prefix, "bulk", job.id);
      await failJob(prefix, job.id, "boom");
    }
    const requeued = await call(app, "POST", "/v1/queues/bulk/requeue", admin);
    expect(await jsonOf(requeued, 200)).toEqual({ count: 2, more: false });
    const emptied = await call(app, "POST", "/v1/queues/bulk/empty", admin);
    expect(await jsonOf(emptied, 200)).toEqual({ count: 2, more: false });
    const cleaned = await call(app, "POST", "/v1/queues/bulk/clean?status=canceled&olderThanSec=0", admin);
    expect(await jsonOf(cleaned, 200)).toEqual({ count: 2, more: false, cursor: null });
    expect((await q.info()).counts).toMatchObject({ queued: 0, failed: 0, canceled: 0 });
  });
});

describe("a job's attempts", () => {
  it("lists the current attempt and the earlier ones, newest first", async () => {
    const job = await queue(prefix, "tries").enqueue("t", null, { retry: { max: 1 } });
    await start(prefix, "tries", job.id);
    await failJob(prefix, job.id, "first", true);
    await start(prefix, "tries", job.id);
    await finish(prefix, job.id, { ok: true });
    type Attempts = { attempts: { attempt: number; status: string; worker: string | null }[] };
    const { attempts } = await jsonOf<Attempts>(await call(app, "GET", `/v1/jobs/${job.id}/attempts`, admin), 200);
    // the final attempt keeps its worker once the job ended, as the earlier ones do
    expect(attempts.map((a) => [a.attempt, a.status, a.worker])).toEqual([
      [2, "finished", WORKER],
      [1, "failed", WORKER],
    ]);
    await expectProblem(await call(app, "GET", "/v1/jobs/no-such-job/attempts", admin), 404);
  });
});

describe("throughput", () => {
  it("counts the jobs a queue finished and failed per minute, the current minute last", async () => {
    const q = queue(prefix, "busy");
    const [ok, bad] = await q.enqueueMany([{ task: "t" }, { task: "t" }]);
    await start(prefix, "busy", ok!.id);
    await finish(prefix, ok!.id, 1);
    await start(prefix, "busy", bad!.id);
    await failJob(prefix, bad!.id, "nope");
    const res = await call(app, "GET", "/v1/queues/busy/throughput?minutes=5", admin);
    const { since, finished, failed } = await jsonOf<{ since: number; finished: number[]; failed: number[] }>(res, 200);
    // in this minute, or the one before should the clock have just turned
    const recent = (counts: number[]) => counts.slice(-2).reduce((a, b) => a + b, 0);
    expect([finished.length, recent(finished), recent(failed)]).toEqual([5, 1, 1]);
    expect(finished.slice(0, 3)).toEqual([0, 0, 0]);
    expect(Date.now() - since).toBeLessThan(5 * 60_000);
    expect(Date.now() - since).toBeGreaterThanOrEqual(4 * 60_000);
  });
});

describe("/metrics", () => {
  type Family = { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string }[] };

  it("exposes the queue gauges, the job counters and the run-time histogram in Prometheus text", async () => {
    const q = queue(prefix, "measured");
    const [ok, bad] = await q.enqueueMany([{ task: "t" }, { task: "t" }]);
    await start(prefix, "measured", ok!.id);
    await finish(prefix, ok!.id, 1);
    await start(prefix, "measured", bad!.id);
    await failJob(prefix, bad!.id, "nope");
    await q.enqueue("t");
    await call(app, "POST", "/v1/queues/measured/pause", admin);

    const res = await call(app, "GET", "/metrics", admin);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const families = parsePrometheusTextFormat(text) as Family[];
    // the parser folds every labeled series of a histogram into one: read the histogram's series as plain samples
    const plain = parsePrometheusTextFormat(text.replace(/^# TYPE edgeq_job_duration_seconds histogram$/m, ""));
    const sample = (name: string, labels: Record<string, string>, from = families) =>
      from
        .filter((f) => f.name === name)
        .flatMap((f) => f.metrics)
        .find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

    expect(sample("edgeq_queue_jobs", { queue: "measured", status: "queued" })?.value).toBe("1");
    expect(sample("edgeq_queue_jobs", { queue: "measured", status: "failed" })?.value).toBe("1");
    expect(families.find((f) => f.name === "edgeq_jobs_finished_total")?.type).toBe("COUNTER");
    expect(sample("edgeq_jobs_finished_total", { queue: "measured" })?.value).toBe("1");
    expect(sample("edgeq_jobs_failed_total", { queue: "measured" })?.value).toBe("1");
    expect(sample("edgeq_queue_paused", { queue: "measured" })?.value).toBe("1");
    expect(families.find((f) => f.name === "edgeq_job_duration_seconds")?.type).toBe("HISTOGRAM");
    const series = (suffix: string, labels: Record<string, string> = {}) =>
      sample(`edgeq_job_duration_seconds_${suffix}`, { queue: "measured", ...labels }, plain as Family[])?.value;
    // both jobs ran: one finished, one failed
    expect(series("count")).toBe("2");
    expect(series("bucket", { le: "+Inf" })).toBe("2");
    expect(Number(series("bucket", { le: "0.005" }))).toBeLessThanOrEqual(2);
    expect(Number(series("sum"))).toBeGreaterThanOrEqual(0);
    expect(families.map((f) => f.name)).toEqual(
      expect.arrayContaining(["edgeq_workers", "edgeq_callback_outbox_size", "edgeq_callback_outbox_oldest_seconds"]),
    );
  });

  it("shows the most loaded groups of a queue only, each waiting and started", async () => {
    const q = queue(prefix, "tenants");
    const jobs = Array.from({ length: DEFAULTS.metricsTopGroups + 2 }, (_, g) =>
      Array.from({ length: g + 1 }, () => ({ task: "t", options: { group: `tenant-${g}` } })),
    ).flat();
    await q.enqueueMany(jobs);
    const families = parsePrometheusTextFormat(await (await call(app, "GET", "/metrics", admin)).text()) as Family[];
    const groups = families.find((f) => f.name === "edgeq_group_jobs")!;
    const waiting = groups.metrics.filter((m) => m.labels?.queue === "tenants" && m.labels.status === "waiting");
    expect(waiting).toHaveLength(DEFAULTS.metricsTopGroups);
    expect(waiting[0]!.labels).toMatchObject({ group: `tenant-${DEFAULTS.metricsTopGroups + 1}` });
    expect(waiting[0]!.value).toBe(String(DEFAULTS.metricsTopGroups + 2));
    expect(waiting.map((m) => m.labels!.group)).not.toContain("tenant-0");
  });

  it("shows a key limited to some queues those queues alone, and not the fleet's outbox", async () => {
    await queue(prefix, "web").enqueue("t");
    await queue(prefix, "elsewhere").enqueue("t");
    const text = await (await call(app, "GET", "/metrics", { key: KEYS.webAdmin })).text();
    const named = new Set([...text.matchAll(/queue="([^"]+)"/g)].map((m) => m[1]));
    expect([...named]).toEqual(["web"]);
    expect(text).not.toContain("edgeq_callback_outbox_size");
    expect(await (await call(app, "GET", "/metrics", admin)).text()).toContain('queue="elsewhere"');
  });

  it("answers only keys with the metrics (or admin) scope", async () => {
    expect((await call(app, "GET", "/metrics", { key: KEYS.scraper })).status).toBe(200);
    await expectProblem(await call(app, "GET", "/v1/queues", { key: KEYS.scraper }), 403);
    await expectProblem(await call(app, "GET", "/metrics", { key: KEYS.reader }), 403);
    await expectProblem(await call(app, "GET", "/metrics"), 401);
  });
});

describe("schedules", () => {
  const spec = { queue: "cron", task: "report", cron: "0 3 * * *", tz: "Europe/Berlin", args: { full: true } };

  it("creates (201), replaces (200), reads with next runs, lists and removes a schedule", async () => {
    const created = await call(app, "PUT", "/v1/schedules/nightly", { ...admin, body: spec });
    const view = await jsonOf<{ name: string; nextRuns: number[]; cron: string }>(created, 201);
    expect(view).toMatchObject({ name: "nightly", cron: "0 3 * * *", tz: "Europe/Berlin", args: { full: true } });
    expect(view.nextRuns).toHaveLength(5);
    const replaced = await call(app, "PUT", "/v1/schedules/nightly", {
      ...admin,
      body: { ...spec, cron: "0 4 * * *" },
    });
    const now = await jsonOf<{ nextRuns: number[] }>(replaced, 200);
    expect(now).toMatchObject({ cron: "0 4 * * *" });
    expect(await jsonOf(await call(app, "GET", "/v1/schedules/nightly", admin), 200)).toMatchObject({
      name: "nightly",
    });
    const list = await jsonOf<{ schedules: { name: string }[] }>(await call(app, "GET", "/v1/schedules", admin), 200);
    expect(list.schedules.map((s) => s.name)).toContain("nightly");
    const info = await jsonOf<QueueInfo>(await call(app, "GET", "/v1/queues/cron", admin), 200);
    expect(info.schedules).toEqual([{ name: "nightly", nextAt: now.nextRuns[0], lastAt: null }]);
    expect((await call(app, "DELETE", "/v1/schedules/nightly", admin)).status).toBe(204);
    await expectProblem(await call(app, "GET", "/v1/schedules/nightly", admin), 404);
  });

  it("refuses a bad spec by field, other queues' schedules to a limited key, and writes without admin", async () => {
    const bad = await call(app, "PUT", "/v1/schedules/bad", {
      ...admin,
      body: { queue: "cron", task: "t", cron: "nope" },
    });
    expect((await expectProblem(bad, 400)).errors?.map((e) => e.field)).toContain("cron");
    await call(app, "PUT", "/v1/schedules/hidden", { ...admin, body: spec });
    await expectProblem(await call(app, "GET", "/v1/schedules/hidden", { key: KEYS.browser }), 404);
    const seen = await jsonOf<{ schedules: unknown[] }>(
      await call(app, "GET", "/v1/schedules", { key: KEYS.browser }),
      200,
    );
    expect(seen.schedules).toEqual([]);
    const web = { ...spec, queue: "web" };
    // a limited key's page skips the others' schedules instead of coming back short
    for (let i = 0; i < 3; i++) await call(app, "PUT", `/v1/schedules/cron-${i}`, { ...admin, body: spec });
    for (const name of ["web-a", "web-b"]) await call(app, "PUT", `/v1/schedules/${name}`, { ...admin, body: web });
    const first = await jsonOf<{ schedules: { name: string }[]; nextOffset: number | null }>(
      await call(app, "GET", "/v1/schedules?limit=1", { key: KEYS.webAdmin }),
      200,
    );
    expect(first.schedules.map((s) => s.name)).toHaveLength(1);
    const rest = await jsonOf<{ schedules: { name: string }[]; nextOffset: number | null }>(
      await call(app, "GET", `/v1/schedules?limit=5&offset=${first.nextOffset}`, { key: KEYS.webAdmin }),
      200,
    );
    expect([...first.schedules, ...rest.schedules].map((s) => s.name).sort()).toEqual(["web-a", "web-b"]);
    expect(rest.nextOffset).toBeNull();
    await expectProblem(await call(app, "PUT", "/v1/schedules/mine", { key: KEYS.browser, body: web }), 403);
  });
});
