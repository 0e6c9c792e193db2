// The scripts of a job's log (ctx.log): its lines are written with the
// job's progress (progress.lua, in jobs.ts) and read a page at a time here.
import * as lua from "./generated.ts";
import { Transition, asArray } from "./transition.ts";

/** One line of a job's log, as the task wrote it. */
export interface LogLine {
  /** When the task wrote it, epoch ms. */
  at: number;
  /** The attempt that wrote it (the job's attempts then). */
  attempt: number;
  text: string;
  /** Set for a line of ctx.logger: its level's name. */
  level?: string;
}

/** A line as a read answers it: numbered from the job's first line, the dropped ones counted. */
export interface NumberedLogLine extends LogLine {
  n: number;
}

/** A page of a job's log. */
export interface JobLog {
  lines: NumberedLogLine[];
  /** Lines the job has written in all. */
  total: number;
  /** The oldest lines, no longer kept: the log keeps the latest DEFAULTS.maxLogLines within maxLogBytes. */
  dropped: number;
  /** Where the next page starts: pass it as `offset` (it is `total` once the page reaches the end). */
  nextOffset: number;
}

export const getLogs = new Transition(
  lua.getLogs,
  /** offset null: the last `limit` lines */
  (p: { id: string; offset: number | null; limit: number }) => [p.id, p.offset ?? "", p.limit],
  (reply): JobLog | null => {
    const r = reply as { found: boolean; total: number; held: number; first: number; lines?: string[] };
    if (!r.found) return null;
    const lines = asArray(r.lines).map((text, i) => ({ n: r.first + i, ...(JSON.parse(text) as LogLine) }));
    return { lines, total: r.total, dropped: r.total - r.held, nextOffset: r.first + lines.length };
  },
  (keys, p) => [keys.job(p.id), keys.logs(p.id)],
);
