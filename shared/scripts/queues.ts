// The scripts about queues, typed: counts and listings (reads), the bulk
// actions and settings (queue actions), and the tasks workers declare for the
// queues they serve.
import { jobFromHash } from "../job.ts";
import type { JobStatus, TerminalStatus } from "../status.ts";
import * as lua from "./generated.ts";
import type { GroupLoad, GroupPolicy } from "./groups.ts";
import { Transition, asArray } from "./transition.ts";

// ---- reads ------------------------------------------------------------------------

/** A queue's settings, stored in Redis and obeyed by every claim across the fleet. */
export interface QueueSettings {
  paused?: boolean;
  /** At most `max` jobs started in any window of `perMs`. */
  limit?: { max: number; perMs: number };
  /** At most this many jobs of the queue started at once, across the fleet. */
  concurrency?: number;
  /** Keep only the latest N finished (failed) jobs, beside their TTLs: the oldest past N are deleted as others end. */
  keep?: { finished?: number; failed?: number };
  /** The policy each group of the queue has unless it has its own (see configureGroup). */
  groups?: Omit<GroupPolicy, "paused">;
}

/** Settings as stored, without the scripts' own marks (a queue turned grouped, had a wait); cjson writes {} as []. */
function settingsOf(raw: unknown): QueueSettings {
  if (!raw || Array.isArray(raw)) return {};
  const {
    grouped: _grouped,
    waits: _waits,
    ...settings
  } = raw as QueueSettings & { grouped?: boolean; waits?: boolean };
  return settings;
}

/** The queues named, or a page (by name) of every queue in use. */
export type QueueSelection = { queues: string[] } | { cursor?: string; limit?: number };

export interface QueueCounts {
  name: string;
  counts: Record<JobStatus, number>;
  settings: QueueSettings;
  /** The worker entries' fields, as stored. */
  workers: Record<string, unknown>[];
  /** With stats: jobs ended per status, and the run-time histogram (`le:<seconds>` buckets, `durationMs`). */
  stats?: Record<string, number>;
  /** Schedules that enqueue to it (the first 50 by name): when each next fires, and last fired. */
  schedules: { name: string; nextAt: number | null; lastAt: number | null }[];
  /** For queues asked for by name: the declared tasks as stored (name, JSON text, …); see shared/tasks.ts. */
  tasks?: string[];
  /** With stats, in a grouped queue: its most loaded groups (see DEFAULTS.metricsTopGroups). */
  topGroups?: GroupLoad[];
}

export interface CountsReply {
  queues: QueueCounts[];
  /** Where the next page of queues starts; null on the last. */
  nextCursor: string | null;
  /** Callback deliveries waiting or in flight, and when the oldest was created. */
  outbox: { size: number; oldestAt: number | null };
}

export const counts = new Transition(
  lua.counts,
  (p: { now: number /** with each queue's counters, for metrics */; stats?: boolean } & QueueSelection) => [
    p.now,
    ...("queues" in p ? [p.queues.join(","), "", ""] : ["", p.cursor ?? "", p.limit ?? ""]),
    p.stats ? "1" : "",
  ],
  (reply): CountsReply => {
    const r = reply as { queues?: unknown; nextCursor?: string; outbox?: { size: number; oldestAt?: number } };
    return {
      queues: asArray(r.queues as QueueCounts[]).map((q) => ({
        name: q.name,
        counts: q.counts,
        settings: settingsOf(q.settings),
        workers: asArray(q.workers),
        schedules: asArray(q.schedules).map((x) => ({
          name: x.name,
          nextAt: x.nextAt ?? null,
          lastAt: x.lastAt ?? null,
        })),
        ...(q.tasks && { tasks: asArray(q.tasks) }),
        ...(q.stats && {
          stats: Object.fromEntries(Object.entries(q.stats).map(([field, value]) => [field, Number(value)])),
        }),
        ...(q.topGroups && { topGroups: asArray(q.topGroups) }),
      })),
      nextCursor: r.nextCursor ?? null,
      outbox: { size: r.outbox?.size ?? 0, oldestAt: r.outbox?.oldestAt ?? null },
    };
  },
);

/** Where a page of a listing starts: the previous page's last score, and how many jobs with it were listed. */
export interface ListCursor {
  score: string;
  count: number;
}

export const list = new Transition(
  lua.list,
  (p: { now: number; queue: string; status: JobStatus; limit: number; cursor?: ListCursor }) => [
    p.now,
    p.queue,
    p.status,
    p.limit,
    p.cursor?.score ?? "",
    p.cursor?.count ?? 0,
  ],
  (reply) => {
    const r = reply as { jobs?: unknown; score?: string; count?: number };
    const next: ListCursor | null = r.score === undefined ? null : { score: String(r.score), count: r.count ?? 0 };
    return { jobs: asArray(r.jobs as Record<string, unknown>[]).map(jobFromHash), next };
  },
);

/** Jobs finished and failed per minute, oldest minute first. */
export const minutes = new Transition(
  lua.minutes,
  (p: { now: number; queues: string[]; minutes: number }) => [p.now, p.queues.join(","), p.minutes],
  (reply) => {
    const r = (reply ?? {}) as Record<string, { finished?: unknown; failed?: unknown }>;
    return Object.fromEntries(
      Object.entries(r).map(([queue, m]) => [
        queue,
        { finished: asArray(m.finished as number[]), failed: asArray(m.failed as number[]) },
      ]),
    ) as Record<string, { finished: number[]; failed: number[] }>;
  },
);

// ---- queue actions -------------------------------------------------------------

/** What one bounded call of a bulk action did, and whether another should follow. */
export interface Chunk {
  count: number;
  more: boolean;
  /** Where the next call starts, for an action that walks a set it does not empty (clean); null when done. */
  cursor?: number | null;
}

/** A settings change: a field set to null is removed. */
export type SettingsPatch = { [K in keyof QueueSettings]?: QueueSettings[K] | null };

export const configureQueue = new Transition(
  lua.configureQueue,
  (p: { queue: string; settings: SettingsPatch }) => [p.queue, JSON.stringify(p.settings)],
  (reply) => settingsOf((reply as { settings?: unknown }).settings),
);

export const requeueAll = new Transition(
  lua.requeueAll,
  (p: { now: number; queue: string; status: "failed" | "stopped" | "canceled" }) => [p.now, p.queue, p.status],
  (reply) => reply as Chunk,
);

export const empty = new Transition(
  lua.empty,
  (p: { now: number; queue: string }) => [p.now, p.queue],
  (reply) => reply as Chunk,
);

export const clean = new Transition(
  lua.clean,
  (p: { queue: string; status: TerminalStatus; before: number; cursor?: number }) => [
    p.queue,
    p.status,
    p.before,
    p.cursor ?? 0,
  ],
  (reply): Chunk => {
    const r = reply as { count: number; nextCursor?: number };
    return { count: r.count, more: r.nextCursor !== undefined, cursor: r.nextCursor ?? null };
  },
);

// ---- task declarations --------------------------------------------------------

export const declareTasks = new Transition(
  lua.declareTasks,
  /** tasks: name → declaration as JSON text (see shared/tasks.ts) */
  (p: { now: number; keepMs: number; queues: string[]; tasks: [name: string, declaration: string][] }) => [
    p.now,
    p.keepMs,
    p.queues.join(","),
    ...p.tasks.flat(),
  ],
  (reply) => ({ dropped: reply as number }),
);

export const getTasks = new Transition(
  lua.getTasks,
  (p: { queues: string[] }) => [p.queues.join(",")],
  /** per queue named, in order: name, declaration (JSON text), … */
  (reply) => asArray(reply as string[][]).map((flat) => asArray(flat)),
  (keys, p) => p.queues.map((queue) => keys.tasks(queue)),
);

// ---- the queue's event stream ---------------------------------------------------

/** One entry of a queue's event stream as stored: its id, its event, its data (JSON text). */
export type QueueEventEntry = [id: string, event: string, data: string];

export const queueEvents = new Transition(
  lua.queueEvents,
  /** after: the id of the entry read last; "" to learn where the stream ends now; "0-0" from its start */
  (p: { queue: string; after: string; count: number }) => [p.queue, p.after, p.count],
  (reply) => {
    const r = reply as { last: string; gap?: boolean; events?: unknown };
    return { last: r.last, gap: r.gap === true, events: asArray(r.events as QueueEventEntry[]) };
  },
  (keys, p) => [keys.queueEvents(p.queue)],
);
