// What a queue looks like from outside, for operators and dashboards: its
// counts per status, settings, live workers, schedules, counters and declared
// tasks, as one counts script call answers them for several queues at once.
import type { Keys } from "./keys.ts";
import { scriptRunner, type RedisClient } from "./redis.ts";
import * as scripts from "./scripts/index.ts";
import type { GroupLoad, QueueSettings } from "./scripts/index.ts";
import { TERMINAL_STATUSES, type JobStatus, type TerminalStatus } from "./status.ts";
import { declarationsOf, type TaskDeclaration } from "./tasks.ts";

export type StatusCounts = Record<JobStatus, number>;

/** A live worker, as its entry in Redis says: written by its heartbeat and by every step it takes. */
export interface WorkerInfo {
  name: string;
  queues: string[];
  /** idle | busy | warm (finishing its jobs) | cold | starting */
  state: string;
  /** The jobs it runs now. */
  currentJobs: string[];
  pid: number | null;
  host: string | null;
  concurrency: number | null;
  isolation: string | null;
  /** Jobs it finished, and jobs whose attempt failed, since it started. */
  processed: number;
  failed: number;
  startedAt: number | null;
  /** Its last heartbeat, epoch ms. */
  heartbeat: number;
}

export interface QueueInfo extends QueueSettings {
  name: string;
  counts: StatusCounts;
  /** Whether workers may claim from it (see Queue.pause). */
  paused: boolean;
  workers: WorkerInfo[];
  /** Schedules that enqueue to it (the first 50 by name): when each next fires and last fired. */
  schedules: { name: string; nextAt: number | null; lastAt: number | null }[];
  /** When asked for: counters kept since the queue was first used (for metrics). */
  stats?: QueueStats;
  /** For queues asked for by name: the tasks their workers declared in the last day (see shared/tasks.ts). */
  tasks?: TaskDeclaration[];
  /** With stats, in a grouped queue: its most loaded groups (for metrics). */
  topGroups?: GroupLoad[];
}

/** Counters the scripts that end jobs keep per queue, in Redis, for the whole fleet. */
export interface QueueStats {
  /** Jobs that ended, by how. */
  ended: Record<TerminalStatus, number>;
  /** Run times of jobs that ran: counts per bucket (upper bound in seconds, not cumulative), and their sum. */
  durations: { buckets: [le: number, count: number][]; sumMs: number };
}

export interface QueuesPage {
  queues: QueueInfo[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
  /** Callback deliveries waiting or in flight (the whole deployment's), and when the oldest was created. */
  outbox: { size: number; oldestAt: number | null };
}

/**
 * Counts, settings and workers for the queues named, or a page (by name) of
 * every queue in use; and the callback outbox.
 */
export async function describeQueues(
  redis: RedisClient,
  keys: Keys,
  which: scripts.QueueSelection = {},
  { stats = false }: { stats?: boolean } = {},
): Promise<QueuesPage> {
  const reply = await scripts.counts.run(scriptRunner(redis), keys, { now: Date.now(), stats, ...which });
  return {
    queues: reply.queues.map((q) => ({
      name: q.name,
      counts: q.counts,
      paused: q.settings.paused === true,
      ...(q.settings.limit && { limit: q.settings.limit }),
      ...(q.settings.concurrency && { concurrency: q.settings.concurrency }),
      ...(q.settings.groups && { groups: q.settings.groups }),
      ...(q.settings.keep && { keep: q.settings.keep }),
      workers: q.workers.map(workerInfo),
      schedules: q.schedules,
      ...(q.stats && { stats: statsOf(q.stats) }),
      ...(q.tasks && { tasks: declarationsOf(q.tasks) }),
      ...(q.topGroups && { topGroups: q.topGroups }),
    })),
    nextCursor: reply.nextCursor,
    outbox: reply.outbox,
  };
}

function statsOf(raw: Record<string, number>): QueueStats {
  const ended = Object.fromEntries(TERMINAL_STATUSES.map((s) => [s, raw[s] ?? 0])) as Record<TerminalStatus, number>;
  const buckets = Object.entries(raw)
    .filter(([field]) => field.startsWith("le:"))
    .map(([field, n]): [number, number] => [field === "le:+Inf" ? Number.POSITIVE_INFINITY : Number(field.slice(3)), n])
    .sort(([a], [b]) => a - b);
  return { ended, durations: { buckets, sumMs: raw.durationMs ?? 0 } };
}

/** A worker entry's fields are strings in Redis: typed here, once, for every view. */
function workerInfo(w: Record<string, unknown>): WorkerInfo {
  const text = (v: unknown) => (v === undefined || v === null || v === "" ? null : String(v));
  const count = (v: unknown) => (text(v) === null ? null : Number(v));
  const list = (v: unknown) => (text(v) ?? "").split(",").filter(Boolean);
  return {
    name: String(w.name),
    queues: list(w.queues),
    state: text(w.state) ?? "unknown",
    currentJobs: list(w.currentJobs),
    pid: count(w.pid),
    host: text(w.host),
    concurrency: count(w.concurrency),
    isolation: text(w.isolation),
    processed: count(w.processed) ?? 0,
    failed: count(w.failed) ?? 0,
    startedAt: count(w.startedAt),
    heartbeat: Number(w.heartbeat),
  };
}
