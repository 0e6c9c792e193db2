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
  queued: { started: "claim", canceled: "cancel" },
  scheduled: { queued: "claim (promotes due jobs) / recover", canceled: "cancel" },
  deferred: { queued: "complete (last dependency finished)", canceled: "cancel / fail (a dependency failed)" },
  started: {
    finished: "complete",
    failed: "fail",
    stopped: "fail (stop requested)",
    queued: "fail (retry now) / recover (lease expired) / requeue (cold shutdown)",
    scheduled: "fail (retry with backoff) / recover",
  },
  finished: {},
  failed: { queued: "requeue" },
  stopped: { queued: "requeue" },
  canceled: { queued: "requeue" },
};
