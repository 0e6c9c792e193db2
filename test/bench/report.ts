// The output: one Markdown table of every figure (median of the rounds, with
// min and max), the targets as ratios of figures from this same run, and the
// same data as JSON under bench-results/ (gitignored).
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ROOT } from "./children.ts";
import type { Profile } from "./context.ts";
import { formatNumber, SCENARIOS, type Row } from "./measure.ts";
import { CONCURRENCIES } from "./process.ts";

export interface Meta {
  startedAt: string;
  durationSec: number;
  profile: Profile;
  node: string;
  redis: string;
  cpus: string;
  loadAverage: { start: number[]; end: number[] };
}

export function machine(): { node: string; cpus: string } {
  const list = cpus();
  return { node: process.version, cpus: `${list.length} × ${list[0]?.model ?? "unknown"}` };
}

export function loadAverage(): number[] {
  return loadavg().map((l) => Number(l.toFixed(2)));
}

export interface Target {
  target: string;
  measured: string;
  goal: string;
  value: number | null;
  pass: boolean | null;
}

type Goal = { op: "≥" | "≤"; limit: number };

function figure(rows: Row[], id: string, label: string): number | undefined {
  return rows.find((r) => r.id === id)?.figures[label]?.median;
}

function judge(target: string, goal: Goal, value: number | undefined, measured: string): Target {
  const goalText = `${goal.op} ${goal.limit}`;
  if (value === undefined || !Number.isFinite(value))
    return { target, measured: "not measured", goal: goalText, value: null, pass: null };
  const pass = goal.op === "≥" ? value >= goal.limit : value <= goal.limit;
  return { target, measured, goal: goalText, value, pass };
}

function ratio(rows: Row[], target: string, a: [string, string], b: [string, string], goal: Goal): Target {
  const x = figure(rows, ...a);
  const y = figure(rows, ...b);
  const value = x !== undefined && y !== undefined ? x / y : undefined;
  const text = value === undefined ? "" : `${formatNumber(x!)} ÷ ${formatNumber(y!)} = ${value.toFixed(2)}`;
  return judge(target, goal, value, text);
}

export function evaluateTargets(rows: Row[]): Target[] {
  const targets: Target[] = [];
  for (const c of CONCURRENCIES) {
    targets.push(
      ratio(
        rows,
        `fork-per-job jobs/s ÷ bare child-process ceiling (IPC), c=${c}`,
        [`process.fork.c${c}`, "jobs/s"],
        [`ceiling.fork.ipc.c${c}`, "processes/s"],
        { op: "≥", limit: 1.0 },
      ),
    );
  }
  for (const c of CONCURRENCIES) {
    targets.push(
      ratio(
        rows,
        `inline jobs/s ÷ BullMQ in-process jobs/s, c=${c}`,
        [`process.inline.c${c}`, "jobs/s"],
        [`bullmq.inproc.c${c}`, "jobs/s"],
        { op: "≥", limit: 1.3 },
      ),
    );
  }
  for (const c of CONCURRENCIES) {
    targets.push(
      ratio(
        rows,
        `horse reuse jobs/s ÷ BullMQ sandboxed jobs/s, c=${c}`,
        [`process.reuse.c${c}`, "jobs/s"],
        [`bullmq.sandboxed.c${c}`, "jobs/s"],
        { op: "≥", limit: 1.5 },
      ),
    );
  }
  // the issue sets the goal for threads at c=2 and c=8
  for (const c of CONCURRENCIES.filter((c) => c > 1)) {
    targets.push(
      ratio(
        rows,
        `threads jobs/s ÷ BullMQ sandboxed in worker threads jobs/s, c=${c}`,
        [`process.thread.c${c}`, "jobs/s"],
        [`bullmq.threads.c${c}`, "jobs/s"],
        { op: "≥", limit: 1.3 },
      ),
    );
  }
  for (const [variant, what, limit] of [
    ["seq", "sequential", 1.1],
    ["parallel", "16 in flight", 1.1],
    ["batch", "batches of 100 (enqueueMany ÷ addBulk)", 1.0],
  ] as const) {
    targets.push(
      ratio(
        rows,
        `edgeq enqueue over TCP ÷ BullMQ Queue.add, ${what}`,
        [`enqueue.tcp.${variant}`, "jobs/s"],
        [`bullmq.add.${variant}`, "jobs/s"],
        { op: "≥", limit },
      ),
    );
  }
  const perJob = rows
    .filter((r) => r.id.startsWith("process.") && r.figures["round trips/job"])
    .map((r) => ({ r, value: r.figures["round trips/job"]!.median }))
    .sort((a, b) => b.value - a.value);
  const worst = perJob[0];
  targets.push(
    judge(
      "Redis round trips per processed job, steady state (worst edgeq case)",
      { op: "≤", limit: 2 },
      worst?.value,
      worst
        ? `${worst.value.toFixed(2)} (${worst.r.case}; all cases ${perJob.map((p) => p.value.toFixed(2)).join(" … ")})`
        : "",
    ),
  );
  const idleClient = figure(rows, "idle.edgeq", "client cmds/min");
  const idleAll = figure(rows, "idle.edgeq", "all cmds/min");
  targets.push(
    judge(
      "idle worker: Redis commands per minute (sent by the worker)",
      { op: "≤", limit: 3 },
      idleClient,
      `${formatNumber(idleClient ?? NaN)} client commands/min ` +
        `(${formatNumber(idleAll ?? NaN)} counting those inside scripts)`,
    ),
  );
  targets.push(
    judge(
      "idle worker: Redis commands per minute (inside scripts included)",
      { op: "≤", limit: 3 },
      idleAll,
      `${formatNumber(idleAll ?? NaN)} commands/min`,
    ),
  );
  const e2e = figure(rows, "e2e.inline", "p50 ms");
  targets.push(
    judge(
      "end-to-end p50 over TCP, inline (enqueue → Queue.waitFor returns)",
      { op: "≤", limit: 1.2 },
      e2e,
      `${formatNumber(e2e ?? NaN)} ms`,
    ),
  );
  const waitCommands = figure(rows, "e2e.wait", "cmds/request");
  const handshake = figure(rows, "e2e.wait", "connection handshake cmds/request");
  targets.push(
    judge(
      "Redis commands for one GET /v1/jobs/:id?wait=N over REST, the job ending during the wait",
      { op: "≤", limit: 3 },
      waitCommands,
      `${formatNumber(waitCommands ?? NaN)} ` +
        `(besides ${formatNumber(handshake ?? NaN)} of the handshake of the connection the gateway opens to subscribe)`,
    ),
  );
  const bounded = rows
    .filter((r) => r.scenario === "7. Bounded work" && r.figures["longest call ms"])
    .map((r) => ({ r, value: r.figures["longest call ms"]!.median }))
    .sort((a, b) => b.value - a.value)[0];
  targets.push(
    judge(
      "longest single script call over a hostile backlog (ms)",
      { op: "≤", limit: 50 },
      bounded?.value,
      bounded ? `${formatNumber(bounded.value)} ms (${bounded.r.case})` : "",
    ),
  );
  const unused = rows.filter((r) => r.scenario === "8. Feature costs" && r.case.includes("not used by the job"));
  const paid = unused.filter((r) => r.figures["cmds/job"]!.median > 0);
  targets.push(
    judge(
      "Redis commands a plain job pays for features it does not use",
      { op: "≤", limit: 0 },
      unused.length ? paid.reduce((sum, r) => sum + r.figures["cmds/job"]!.median, 0) : undefined,
      paid.map((r) => `${r.case.replace(/ \(.*/, "")}: ${r.note}`).join("; ") || (unused.length ? "none" : ""),
    ),
  );
  return targets;
}

const cell = (text: string) => text.replace(/\|/g, "\\|");

export function renderTable(rows: Row[], targets: Target[], meta: Meta): string {
  const out: string[] = [];
  out.push(
    `## edgeq bench — ${meta.profile.name} profile, ${meta.startedAt}`,
    "",
    `Node ${meta.node}, Redis ${meta.redis}, ${meta.cpus}; ` +
      `load average ${meta.loadAverage.start.join(" ")} at start, ` +
      `${meta.loadAverage.end.join(" ")} at end. ` +
      `Every figure: median of ${meta.profile.rounds} rounds (after a warm-up round), with min and max; ` +
      `compared cases ran with interleaved rounds on the same redis-server.`,
    "",
    "| Scenario | Case | Figure | Median | Min | Max | Note |",
    "|---|---|---|---:|---:|---:|---|",
  );
  const ordered = [...rows].sort((a, b) => SCENARIOS.indexOf(a.scenario) - SCENARIOS.indexOf(b.scenario));
  let scenario = "";
  for (const row of ordered) {
    const first = row.scenario !== scenario ? row.scenario : "";
    scenario = row.scenario;
    if (row.unavailable) {
      out.push(`| ${first} | ${cell(row.case)} | — | not available | | | TODO: ${cell(row.unavailable)} |`);
      continue;
    }
    Object.entries(row.figures).forEach(([label, s], i) => {
      const lead = i === 0 ? `| ${i === 0 ? first : ""} | ${cell(row.case)} ` : "| | ";
      const note = i === 0 && row.note ? cell(row.note) : "";
      out.push(
        `${lead}| ${label} | ${formatNumber(s.median)} | ${formatNumber(s.min)} | ${formatNumber(s.max)} | ${note} |`,
      );
    });
  }
  out.push("", "### Targets", "", "| Target | Measured | Goal | Result |", "|---|---|---|---|");
  for (const t of targets) {
    const result = t.pass === null ? "not measured" : t.pass ? "pass" : "**FAIL**";
    out.push(`| ${cell(t.target)} | ${cell(t.measured)} | ${t.goal} | ${result} |`);
  }
  return `${out.join("\n")}\n`;
}

export async function writeJson(rows: Row[], targets: Target[], meta: Meta): Promise<string> {
  const dir = join(ROOT, "bench-results");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${meta.startedAt.replace(/[:.]/g, "-")}.json`);
  await writeFile(file, `${JSON.stringify({ meta, rows, targets }, null, 2)}\n`);
  return file;
}
