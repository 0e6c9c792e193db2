// `edgeq admin`'s text for people: tables padded to their widest cell, and a
// job or a schedule as labeled lines. Times and the other facts the dashboard
// shows too are worded by shared/display.ts, in the terminal's terse style.
import {
  STATUSES,
  type Attempt,
  type GroupPolicyView,
  type GroupsListing,
  type JobStatus,
  type JobView,
  type QueueInfo,
  type QueuesPage,
  type ScheduleView,
} from "../../../shared/index.ts";
import {
  errorLine,
  LISTED_AT,
  noun,
  policyWords,
  ranMs,
  stateSummary,
  TERMINAL_TIMES,
  timeWords,
  uniqueWorkers,
} from "../../../shared/display.ts";

export const { span, ago } = timeWords(TERMINAL_TIMES);

/** Columns padded to their widest cell; a column of counts is aligned right. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^\d+$/.test(r[i]!)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function queuesText(page: QueuesPage, prefix: string, now: number): string {
  if (page.queues.length === 0) return `no queues in use under prefix "${prefix}"`;
  const rows = page.queues.map((q) => [
    q.name,
    q.paused ? "yes" : "no",
    ...STATUSES.map((s) => String(q.counts[s])),
    stateSummary(q.workers) || "none",
    limits(q),
  ]);
  const parts = [table(["queue", "paused", ...STATUSES, "workers", "limits"], rows)];
  const workers = uniqueWorkers(page.queues);
  if (workers.length > 0) {
    const workerRows = workers.map((w) => [
      w.name,
      w.state,
      w.queues.join(","),
      w.currentJobs.join(",") || "—",
      String(w.processed),
      String(w.failed),
      ago(w.heartbeat, now),
    ]);
    parts.push(table(["worker", "state", "queues", "running", "processed", "failed", "heartbeat"], workerRows));
  }
  const { size, oldestAt } = page.outbox;
  const deliveries = `${size} ${noun(size, "delivery", "deliveries")}`;
  const oldest = ago(oldestAt ?? now, now);
  parts.push(
    size === 0 ? "callback outbox: empty" : `callback outbox: ${deliveries} waiting, the oldest from ${oldest}`,
  );
  return parts.join("\n\n");
}

function limits(q: QueueInfo): string {
  return policyWords({ limit: q.limit, concurrency: q.concurrency }, span) || "—";
}

export function groupsText(queue: string, page: GroupsListing): string {
  const rows = page.groups.map((g) => [
    g.name,
    String(g.waiting),
    String(g.started),
    policyWords(g.policy, span) || "—",
    policyWords(g.effective, span) || "—",
  ]);
  const parts = [];
  if (page.ungrouped) {
    const { waiting, started } = page.ungrouped;
    const policy = policyWords(page.default ?? {}, span) || "none";
    parts.push(`queue "${queue}": ${page.total} ${noun(page.total, "group")}; each group's default policy: ${policy}`);
    parts.push(`jobs without a group: ${waiting} waiting, ${started} started`);
  }
  parts.push(rows.length ? table(["group", "waiting", "started", "own policy", "obeys"], rows) : "no groups here");
  if (page.nextCursor) parts.push(`more: --cursor ${page.nextCursor}`);
  return parts.join("\n");
}

export function policyText(queue: string, view: GroupPolicyView): string {
  const own = policyWords(view.policy, span) || "none (the queue's default)";
  const obeys = policyWords(view.effective, span) || "no limit";
  return `group "${view.group}" of queue "${queue}": own policy ${own}; obeys ${obeys}`;
}

export function schedulesTable(schedules: ScheduleView[], now: number): string {
  const rows = schedules.map((s) => [
    s.name,
    s.queue,
    s.task,
    s.cron ? `${s.cron}${s.tz ? ` (${s.tz})` : ""}` : `every ${span(s.everyMs ?? 0)}`,
    s.nextRuns[0] === undefined ? "—" : ago(s.nextRuns[0], now),
    s.lastRunAt === null ? "never" : ago(s.lastRunAt, now),
  ]);
  return table(["schedule", "queue", "task", "when", "next", "last"], rows);
}

export function jobsTable(jobs: JobView[], status: JobStatus, now: number): string {
  const [label, at] = LISTED_AT[status];
  const withError = status === "failed" || status === "stopped";
  const rows = jobs.map((j) => [
    j.id,
    j.task,
    String(j.attempts),
    ago(at(j), now),
    ...(withError ? [j.error ? oneLine(errorLine(j.error), 80) : "—"] : []),
  ]);
  return table(["id", "task", "attempts", label, ...(withError ? ["error"] : [])], rows);
}

export function attemptsTable(attempts: Attempt[], now: number): string {
  const rows = attempts.map((a) => {
    const ran = ranMs(a);
    return [
      String(a.attempt),
      a.status,
      a.worker ?? "—",
      ago(a.startedAt, now),
      ran !== null ? span(ran) : a.endedAt === null ? "running" : "—",
      a.error ? oneLine(errorLine(a.error), 80) : "—",
    ];
  });
  return table(["attempt", "status", "worker", "started", "ran", "error"], rows);
}

/** A moment exactly, and how long ago. */
function moment(ms: number, now: number): string {
  return `${new Date(ms).toISOString()}  (${ago(ms, now)})`;
}

export function jobText(job: JobView, now: number): string {
  const at = (ms: number | null) => (ms === null ? "—" : moment(ms, now));
  const ran = ranMs(job);
  const fields: [string, string][] = [
    ["job", job.id],
    ["status", job.status],
    ["queue", job.queue],
    ["task", job.task],
    ["attempts", String(job.attempts)],
    ["created", at(job.createdAt)],
    ["enqueued", at(job.enqueuedAt)],
    ["started", at(job.startedAt)],
    ["ended", at(job.endedAt) + (ran === null ? "" : `  ran ${span(ran)}`)],
  ];
  if (job.progress !== null) fields.push(["progress", json(job.progress)]);
  if (job.dependsOn.length) fields.push(["depends on", job.dependsOn.join(", ")]);
  if (job.group) fields.push(["group", job.group]);
  const waits = job.waitingFor;
  if (waits) {
    const what =
      "child" in waits ? `child job ${waits.child}` : `event ${waits.event}${waits.key ? ` (key ${waits.key})` : ""}`;
    fields.push(["waits for", "child" in waits ? what : `${what} until ${at(waits.until)}`]);
  }
  for (const step of job.steps ?? []) {
    fields.push([`step ${step.n}`, `${step.id}  ${at(step.endedAt)}  took ${span(step.endedAt - step.startedAt)}`]);
  }
  if (job.callback) {
    const { status, attempts, lastError } = job.callback;
    const tries = `${attempts} ${noun(attempts, "try", "tries")}`;
    fields.push(["callback", `${status} after ${tries}${lastError ? `: ${lastError}` : ""}`]);
  }
  fields.push(["args", json(job.args)]);
  if (Object.keys(job.meta).length) fields.push(["meta", json(job.meta)]);
  if (job.result !== null) fields.push(["result", json(job.result)]);
  if (job.error) fields.push(["error", job.error.stack ?? errorLine(job.error)]);
  return labeled(fields);
}

export function scheduleText(schedule: ScheduleView, now: number): string {
  const at = (ms: number) => moment(ms, now);
  const fields: [string, string][] = [
    ["schedule", schedule.name],
    ["queue", schedule.queue],
    ["task", schedule.task],
    ["when", schedule.cron ? `${schedule.cron} (${schedule.tz ?? "UTC"})` : `every ${span(schedule.everyMs ?? 0)}`],
    ["next runs", schedule.nextRuns.map(at).join("\n") || "—"],
    ["last run", schedule.lastRunAt === null ? "never" : `${at(schedule.lastRunAt)}  job ${schedule.lastJobId}`],
    ["args", json(schedule.args ?? null)],
  ];
  if (schedule.options && Object.keys(schedule.options).length) fields.push(["options", json(schedule.options)]);
  return labeled(fields);
}

/** Label and value, one pair a line; a multi-line value (pretty JSON, a stack) continues under its first line. */
function labeled(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  return fields
    .map(([label, value]) => label.padEnd(width) + value.split("\n").join(`\n${" ".repeat(width)}`))
    .join("\n");
}

/** JSON on one line when it fits, else indented. */
function json(value: unknown): string {
  const flat = JSON.stringify(value);
  return flat.length <= 100 ? flat : JSON.stringify(value, null, 2);
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
