// What each way of enqueuing offers the enqueue scenario (enqueue.ts), and the
// batch size they all use, apart from that scenario so that BullMQ's way
// (bullmq.ts) can implement it without importing the scenario that runs it.
import type { Scenario } from "./measure.ts";

export const BATCH = 100;

/** One way of enqueuing a no-op job, and a batch of them. */
export interface Enqueuer {
  key: string;
  scenario: Scenario;
  label: string;
  batchLabel: string;
  /** Idempotent: the first call starts what it needs. */
  start(): Promise<void>;
  one(): Promise<unknown>;
  batch(): Promise<unknown>;
  close(): Promise<void>;
}
