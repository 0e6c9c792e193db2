// The statuses of a job, named as rq names them, and the moves between them.
// This map is load-bearing: the Lua scripts change a status only through
// `move` (scripts/includes/move.lua), which refuses any move not listed here.

export const STATUSES = [
  "queued",
  "scheduled",
  "deferred",
  "awaiting",
  "started",
  "finished",
  "failed",
  "stopped",
  "canceled",
] as const;
export type JobStatus = (typeof STATUSES)[number];

export const TERMINAL_STATUSES = ["finished", "failed", "stopped", "canceled"] as const satisfies readonly JobStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** Statuses kept in a sorted set per queue (a registry); queued jobs wait in the queue's waiting set. */
export const REGISTRY_STATUSES = STATUSES.filter((s) => s !== "queued") as Exclude<JobStatus, "queued">[];
export type RegistryStatus = Exclude<JobStatus, "queued">;

/** Terminal without having finished: what requeue takes back, and what cancels a dependent. */
export const UNSUCCESSFUL_STATUSES = ["failed", "stopped", "canceled"] as const satisfies readonly TerminalStatus[];

export function isTerminal(status: JobStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly JobStatus[]).includes(status);
}

/** The status a new job starts in, and the script (and reason) that puts it there. */
export const CREATED_AS: Partial<Record<JobStatus, string>> = {
  queued: "enqueue",
  scheduled: "enqueue (runAt ahead)",
  deferred: "enqueue (dependsOn unfinished)",
  canceled: "enqueue (a dependency did not finish)",
};

/** status → the statuses it may move to, and the script that moves it. */
export const TRANSITIONS: Record<JobStatus, Partial<Record<JobStatus, string>>> = {
  queued: {
    started: "claim",
    failed: "claim (its ttlSec ran out)",
    canceled: "cancel",
    scheduled: "enqueue (a debounced call moves its start)",
  },
  scheduled: { queued: "claim (promotes due jobs) / recover", canceled: "cancel" },
  deferred: {
    queued: "complete (its last dependency finished) / any ending of a child it invoked (ctx.invoke)",
    scheduled: "complete (its last dependency finished; runAt still ahead)",
    canceled: "cancel / fail (a dependency did not finish)",
  },
  awaiting: {
    queued: "send-event (its event came) / claim, recover (its timeoutMs passed)",
    canceled: "cancel",
  },
  started: {
    finished: "complete",
    failed: "fail / recover (lease expired, no retry left)",
    stopped: "fail (stop requested)",
    queued: "fail (retry now) / recover (lease expired) / requeue (cold shutdown)",
    scheduled: "fail (retry with backoff) / recover / suspend (ctx.sleep)",
    awaiting: "suspend (ctx.waitForEvent)",
    deferred: "invoke (ctx.invoke)",
  },
  finished: {},
  failed: { queued: "requeue" },
  stopped: { queued: "requeue" },
  canceled: { queued: "requeue" },
};
