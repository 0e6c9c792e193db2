// The scripts of deliveries, typed: callback deliveries out (the outbox a
// worker drains) and webhook deliveries in (the edge's replay window).
import { jobFromHash, type Job } from "../job.ts";
import type { JobStatus } from "../status.ts";
import * as lua from "./generated.ts";
import { Transition, asArray } from "./transition.ts";

// ---- callbacks -----------------------------------------------------------------

/** A callback delivery as the outbox holds it. */
export interface Delivery {
  /** The webhook-id: one per ending of a job, the same on every retry. */
  id: string;
  jobId: string;
  url: string;
  /** The job as it ended. */
  job: Job;
  /** Attempts so far, this one included. */
  attempts: number;
  createdAt: number;
}

export const claimDeliveries = new Transition(
  lua.claimDeliveries,
  (p: { now: number; leaseMs: number; max: number }) => [p.now, p.leaseMs, p.max],
  (reply) => {
    const r = reply as { deliveries?: unknown; nextAt?: number };
    const deliveries = asArray(r.deliveries as Record<string, string>[]).map(
      (d): Delivery => ({
        id: d.id!,
        jobId: d.jobId!,
        url: d.url!,
        job: jobFromHash(JSON.parse(d.job!)),
        attempts: Number(d.attempts),
        createdAt: Number(d.createdAt),
      }),
    );
    return { deliveries, nextAt: r.nextAt ?? null };
  },
);

export type DeliveryOutcome =
  | { outcome: "delivered" }
  | { outcome: "refused" | "failed"; error: string }
  | { outcome: "retry"; error: string; retryAt: number };

export const settleDelivery = new Transition(
  lua.settleDelivery,
  (p: { id: string } & DeliveryOutcome) => [
    p.id,
    p.outcome,
    "error" in p ? p.error : "",
    p.outcome === "retry" ? p.retryAt : "",
  ],
  (reply) => reply as { ok: boolean },
);

// ---- webhooks: deliveries in, replays refused --------------------------------

export const seenDelivery = new Transition(
  lua.seenDelivery,
  /** id: the delivery's job id */
  (p: { id: string }) => [p.id],
  (reply) => {
    const r = reply as { seen?: boolean; status?: JobStatus };
    return { seen: r.seen === true, status: r.status ?? null };
  },
  (keys, p) => [keys.seenDelivery(p.id), keys.job(p.id)],
);

export const rememberDelivery = new Transition(
  lua.rememberDelivery,
  (p: { now: number; id: string; windowSec: number }) => [p.id, p.now, p.windowSec],
  () => undefined,
  (keys, p) => [keys.seenDelivery(p.id)],
);
