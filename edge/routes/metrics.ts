// GET /metrics: Prometheus text. The counters and the run-time histogram are
// kept in Redis by the scripts that end jobs (no round trip of their own), so
// they add up across the fleet and survive restarts; the gauges are the
// queue counts, and those of each queue's most loaded groups (a million
// tenants must not make a million series). A scrape reads a bounded number
// of queue pages.
import { Hono } from "hono";
import { DEFAULTS, STATUSES, type QueueInfo, type QueuesPage } from "../../shared/index.ts";
import { requireScope } from "../bearer.ts";
import type { AppEnv } from "../context.ts";

export const metrics = new Hono<AppEnv>();

// Pages of queues one scrape reads: enough for thousands of queues, bounded for millions.
const MAX_PAGES = 10;

metrics.get("/metrics", requireScope("metrics"), async (c) => {
  const queues: QueueInfo[] = [];
  let outbox: QueuesPage["outbox"] = { size: 0, oldestAt: null };
  let cursor: string | undefined;
  // a key limited to some queues sees theirs, and not the fleet's outbox
  const limited = c.var.principal.queues;
  for (let page = 0; page < MAX_PAGES; page++) {
    const limit = 2 * DEFAULTS.scriptBatch;
    const reply = await c.var.store.describeVisible(limited, { cursor, limit }, { stats: true });
    queues.push(...reply.queues);
    outbox = reply.outbox;
    if (!reply.nextCursor) break;
    cursor = reply.nextCursor;
  }
  return c.text(render(queues, limited ? null : outbox, Date.now()), 200, {
    "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
  });
});

type Sample = [labels: Record<string, string>, value: number];

function labelText(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

function family(out: string[], name: string, type: string, help: string, samples: Sample[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${value}`);
}

/** Prometheus' text exposition format, version 0.0.4; without the outbox's gauges when `outbox` is null. */
export function render(queues: QueueInfo[], outbox: QueuesPage["outbox"] | null, now: number): string {
  const out: string[] = [];
  const each = (samples: (q: QueueInfo) => Sample[]) => queues.flatMap(samples);
  const ended = (status: "finished" | "failed") => each((q) => [[{ queue: q.name }, q.stats?.ended[status] ?? 0]]);
  family(
    out,
    "edgeq_queue_jobs",
    "gauge",
    "Jobs in a queue, by status.",
    each((q) => STATUSES.map((status): Sample => [{ queue: q.name, status }, q.counts[status]])),
  );
  family(out, "edgeq_jobs_finished_total", "counter", "Jobs that finished.", ended("finished"));
  family(out, "edgeq_jobs_failed_total", "counter", "Jobs that failed, their retries spent.", ended("failed"));
  out.push(
    "# HELP edgeq_job_duration_seconds How long jobs ran, from start to finish or failure.",
    "# TYPE edgeq_job_duration_seconds histogram",
  );
  for (const q of queues) {
    const { buckets, sumMs } = q.stats?.durations ?? { buckets: [], sumMs: 0 };
    let cumulative = 0;
    for (const [le, count] of buckets) {
      cumulative += count;
      if (le === Number.POSITIVE_INFINITY) continue;
      out.push(`edgeq_job_duration_seconds_bucket${labelText({ queue: q.name, le: String(le) })} ${cumulative}`);
    }
    out.push(`edgeq_job_duration_seconds_bucket${labelText({ queue: q.name, le: "+Inf" })} ${cumulative}`);
    out.push(`edgeq_job_duration_seconds_sum${labelText({ queue: q.name })} ${sumMs / 1000}`);
    out.push(`edgeq_job_duration_seconds_count${labelText({ queue: q.name })} ${cumulative}`);
  }
  family(
    out,
    "edgeq_group_jobs",
    "gauge",
    `Jobs of a queue's most loaded groups (the top ${DEFAULTS.metricsTopGroups}), waiting or started.`,
    each((q) =>
      (q.topGroups ?? []).flatMap((g): Sample[] => [
        [{ queue: q.name, group: g.name, status: "waiting" }, g.waiting],
        [{ queue: q.name, group: g.name, status: "started" }, g.started],
      ]),
    ),
  );
  family(
    out,
    "edgeq_workers",
    "gauge",
    "Live workers listening on a queue, by state.",
    each((q) => {
      const states = new Map<string, number>();
      for (const w of q.workers) states.set(w.state, (states.get(w.state) ?? 0) + 1);
      return [...states].map(([state, n]): Sample => [{ queue: q.name, state }, n]);
    }),
  );
  family(
    out,
    "edgeq_queue_paused",
    "gauge",
    "1 when no worker claims from the queue.",
    each((q) => [[{ queue: q.name }, q.paused ? 1 : 0]]),
  );
  if (outbox) {
    family(out, "edgeq_callback_outbox_size", "gauge", "Callback deliveries waiting or in flight.", [
      [{}, outbox.size],
    ]);
    const age = outbox.oldestAt === null ? 0 : Math.max(0, (now - outbox.oldestAt) / 1000);
    family(out, "edgeq_callback_outbox_oldest_seconds", "gauge", "Age of the oldest callback not yet done.", [
      [{}, age],
    ]);
  }
  return `${out.join("\n")}\n`;
}
