// The scripts of schedules, typed: saved and removed by a user, found due and
// fired by a worker's heartbeat (shared/schedule.ts holds the rest).
import type { NewJob } from "../job.ts";
import * as lua from "./generated.ts";
import { Transition, asArray } from "./transition.ts";

/** A schedule as stored: its spec is JSON text, parsed by shared/schedule.ts. */
export interface StoredSchedule {
  name: string;
  spec: string;
  nextAt: number | null;
  lastAt: number | null;
  lastJobId: string | null;
  createdAt: number;
  updatedAt: number;
}

export const saveSchedule = new Transition(
  lua.saveSchedule,
  (p: { now: number; name: string; spec: string; nextAt: number }) => [p.now, p.name, p.spec, p.nextAt],
  (reply) => reply as { created: boolean },
);

export const removeSchedule = new Transition(
  lua.removeSchedule,
  (p: { name: string }) => [p.name],
  (reply) => reply as { removed: boolean },
);

export const getSchedules = new Transition(
  lua.getSchedules,
  (p: { names: string[] } | { offset?: number; limit?: number }) =>
    "names" in p ? [p.names.join(","), "", ""] : ["", p.offset ?? 0, p.limit ?? ""],
  (reply) =>
    asArray((reply as { schedules?: unknown }).schedules as StoredSchedule[]).map((x) => ({
      ...x,
      nextAt: x.nextAt ?? null,
      lastAt: x.lastAt ?? null,
      lastJobId: x.lastJobId ?? null,
    })),
);

export const dueSchedules = new Transition(
  lua.dueSchedules,
  (p: { now: number }) => [p.now],
  (reply) => {
    const r = reply as { due?: unknown; nextAt?: number };
    const due = asArray(r.due as { name: string; dueAt: number; spec: string; createdAt: number }[]);
    return { due, nextAt: r.nextAt ?? null };
  },
);

export const fireSchedule = new Transition(
  lua.fireSchedule,
  (p: { now: number; name: string; dueAt: number; tick: number; nextAt: number | null; job: NewJob }) => [
    p.now,
    p.name,
    p.dueAt,
    p.tick,
    p.nextAt ?? "",
    JSON.stringify(p.job),
  ],
  (reply) => reply as { fired: boolean; jobId?: string },
);
