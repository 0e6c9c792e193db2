// How edgeq words jobs, workers and times for people, in the one place the
// admin CLI's text (worker-node/cli/admin/text.ts) and the dashboard's pages
// (edge/dashboard/) both take it from, so that the two name the same moment
// of a job the same way and count time by the same rules. They differ in
// density alone, which each picks as a TimeStyle: a terminal table wants
// "5m 3s ago", a glance at a page "5 min ago".
import type { JobError, JobView } from "./job.ts";
import type { QueueInfo, WorkerInfo } from "./queue-info.ts";
import type { JobStatus } from "./status.ts";

type Unit = "d" | "h" | "m" | "s";

/** How a reader has lengths of time and moments written. */
export interface TimeStyle {
  /** The name of each unit, and what goes between a number and its name. */
  names: Record<Unit | "ms", string>;
  gap: string;
  /** Under this many ms a length keeps its tenths of a second: "4.2s". */
  tenthsBelow: number;
  /** How many units an `ago` names, each floored: two give "5m 3s ago", one "5 min ago". */
  agoUnits: 1 | 2;
  /** Whether an `ago` rounds to whole seconds first. */
  wholeSeconds: boolean;
  /** What an `ago` says of a moment nearer than `nowWithin` ms. */
  now: string;
  nowWithin: number;
}

/** The admin CLI's: "350ms", "4.2s", "5m 3s"; "12s ago", "in 5m", "now". */
export const TERMINAL_TIMES: TimeStyle = {
  names: { d: "d", h: "h", m: "m", s: "s", ms: "ms" },
  gap: "",
  tenthsBelow: 60_000,
  agoUnits: 2,
  // a tenth of a second is noise in a time that passed
  wholeSeconds: true,
  now: "now",
  nowWithin: 1000,
};

/** The dashboard's: "350 ms", "4.2 s", "45 s", "5 min 3 s"; "3 min ago", "in 2 h", "just now". */
export const PAGE_TIMES: TimeStyle = {
  names: { d: "d", h: "h", m: "min", s: "s", ms: "ms" },
  gap: " ",
  tenthsBelow: 10_000,
  agoUnits: 1,
  wholeSeconds: false,
  now: "just now",
  nowWithin: 1500,
};

const LENGTHS: [unit: Unit, ms: number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
];

/** `span` (a length of time) and `ago` (a moment, from `now`) in one style. */
export function timeWords(style: TimeStyle) {
  const word = (n: number, unit: Unit | "ms") => `${n}${style.gap}${style.names[unit]}`;
  /** The largest unit of a length of a second or more, and with `units` 2 the next one below it. */
  const largest = (ms: number, units: 1 | 2) => {
    const i = LENGTHS.findIndex(([, length]) => ms >= length);
    const [big, bigLength] = LENGTHS[i]!;
    const small = units === 2 ? LENGTHS[i + 1] : undefined;
    const rest = small ? Math.floor((ms % bigLength) / small[1]) : 0;
    return `${word(Math.floor(ms / bigLength), big)}${rest ? ` ${word(rest, small![0])}` : ""}`;
  };
  return {
    span(ms: number): string {
      if (ms < 1000) return word(Math.round(ms), "ms");
      if (ms < 60_000) return word(+(ms / 1000).toFixed(ms < style.tenthsBelow ? 1 : 0), "s");
      return largest(ms, 2);
    },
    /** "—" for a moment that has not come. */
    ago(ms: number | null, now: number): string {
      if (ms === null) return "—";
      const delta = style.wholeSeconds ? Math.round((now - ms) / 1000) * 1000 : now - ms;
      const size = Math.abs(delta);
      if (size < style.nowWithin) return style.now;
      const length = largest(size, style.agoUnits);
      return delta > 0 ? `${length} ago` : `in ${length}`;
    },
  };
}

/** The moment that matters in a listing of each status (a scheduled job's due time is not in its view). */
export const LISTED_AT: Record<JobStatus, [label: string, at: (job: JobView) => number | null]> = {
  queued: ["enqueued", (j) => j.enqueuedAt],
  scheduled: ["created", (j) => j.createdAt],
  deferred: ["created", (j) => j.createdAt],
  awaiting: ["created", (j) => j.createdAt],
  started: ["started", (j) => j.startedAt],
  finished: ["ended", (j) => j.endedAt],
  failed: ["ended", (j) => j.endedAt],
  stopped: ["ended", (j) => j.endedAt],
  canceled: ["ended", (j) => j.endedAt],
};

/** How long a job or an attempt ran, once it has both started and ended. */
export function ranMs({ startedAt, endedAt }: Pick<JobView, "startedAt" | "endedAt">): number | null {
  return startedAt !== null && endedAt !== null ? endedAt - startedAt : null;
}

/** "TypeError: boom", an error on one line without its stack. */
export function errorLine(error: JobError): string {
  return `${error.name}: ${error.message}`;
}

/** The noun for a count of `n`: "job" or "jobs". */
export function noun(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** Each worker once, though it listens on several queues, in the order they first appear. */
export function uniqueWorkers(queues: QueueInfo[]): WorkerInfo[] {
  const byName = new Map<string, WorkerInfo>();
  for (const w of queues.flatMap((q) => q.workers)) byName.set(w.name, w);
  return [...byName.values()];
}

/** How many workers are in each state, in the order the states first appear. */
export function stateCounts(workers: WorkerInfo[]): [state: string, n: number][] {
  const states = new Map<string, number>();
  for (const w of workers) states.set(w.state, (states.get(w.state) ?? 0) + 1);
  return [...states];
}

/** "2 busy, 1 idle"; empty without workers. */
export function stateSummary(workers: WorkerInfo[], count: (n: number) => string = String): string {
  return stateCounts(workers)
    .map(([state, n]) => `${count(n)} ${state}`)
    .join(", ");
}

/** A queue's or a group's limits in words ("paused, 10 per 1s, 2 at once"), or "" where it has none. */
export function policyWords(
  policy: { paused?: boolean; concurrency?: number; limit?: { max: number; perMs: number } },
  span: (ms: number) => string,
): string {
  const parts = [];
  if (policy.paused) parts.push("paused");
  if (policy.limit) parts.push(`${policy.limit.max} per ${span(policy.limit.perMs)}`);
  if (policy.concurrency) parts.push(`${policy.concurrency} at once`);
  return parts.join(", ");
}
