// The statuses of a job, named as rq names them, and the moves between them.
// Each move is made by exactly one Lua script (see scripts/); this table is
// the map a reader checks them against.

export const STATUSES = ["queued", "scheduled", "deferred", "started", "finished", "failed", "stopped", "canceled"] as const;
export type JobStatus = (typeof STATUSES)[number];

export const TERMINAL_STATUSES: readonly JobStatus[] = ["finished", "failed", "stopped", "canceled"];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** status → the statuses it may move to, and the script that moves it. */
export const TRANSITIONS: Record<JobStatus, Partial<Record<JobStatus, string>>> = {
  queued: { started: "claim", failed: "claim (its ttlSec ran out)", canceled: "cancel" },
  scheduled: { queued: "claim (promotes due jobs) / recover", canceled: "cancel" },
  deferred: {
    queued: "complete (its last dependency finished)",
    scheduled: "complete (its last dependency finished; runAt still ahead)",
    canceled: "cancel / fail (a dependency did not finish)",
  },
  started: {
    finished: "complete",
    failed: "fail / recover (lease expired, no retry left)",
    stopped: "fail (stop requested)",
    queued: "fail (retry now) / recover (lease expired) / requeue (cold shutdown)",
    scheduled: "fail (retry with backoff) / recover",
  },
  finished: {},
  failed: { queued: "requeue" },
  stopped: { queued: "requeue" },
  canceled: { queued: "requeue" },
};
