// Durability past one Redis. Redis replicates asynchronously: a write the
// master acknowledged and lost in a failover before its replica had it is
// gone. With a replica wait (EDGEQ_WAIT_REPLICAS, or a Queue's waitReplicas),
// a write is acknowledged only once WAIT, sent on the connection that carried
// it, says that many replicas have it (README: "Running highly available").
import { ReplicasBehindError } from "./errors.ts";
import type { Replication, ScriptRunner } from "./script.ts";

export interface ReplicaWait {
  /** Replicas that must confirm a write before it is acknowledged. */
  replicas: number;
  /** How long WAIT waits for them, in ms. */
  timeoutMs: number;
}

/** Runs `write`, then WAIT on its connection; throws ReplicasBehindError when fewer replicas than asked have it. */
export async function acknowledged<T>(
  runner: ScriptRunner,
  wait: ReplicaWait | undefined,
  write: () => Promise<T>,
): Promise<T> {
  if (!wait) return write().catch(refusedForReplicas);
  const replication = replicationOf(runner);
  const epoch = replication.epoch();
  const reply = await write().catch(refusedForReplicas);
  const behind = await replicasBehind(replication, wait, epoch);
  if (behind) throw new ReplicasBehindError(behind);
  return reply;
}

/** Why the writes sent since `epoch` are not known to be on `wait.replicas` replicas, or undefined when they are. */
export async function replicasBehind(
  replication: Replication,
  wait: ReplicaWait,
  epoch: unknown,
): Promise<string | undefined> {
  const confirmed = await replication.wait(wait.replicas, wait.timeoutMs);
  if (replication.epoch() !== epoch) return "the connection to Redis was replaced while waiting for its replicas";
  if (confirmed < wait.replicas) return `${confirmed} of ${wait.replicas} replicas within ${wait.timeoutMs} ms`;
  return undefined;
}

/** The runner's WAIT, or a TypeError saying where a replica wait goes over REST. */
export function replicationOf(runner: ScriptRunner): Replication {
  if (runner.replication) return runner.replication;
  throw new TypeError(
    "waitReplicas needs a TCP client that is not a Cluster: over REST, set EDGEQ_WAIT_REPLICAS on the gateway",
  );
}

/** Redis's own refusal for want of replicas (min-replicas-to-write), and the gateway's: a 503, not a 500. */
function refusedForReplicas(error: unknown): never {
  if (error instanceof Error && /^NOREPLICAS\b/.test(error.message)) throw new ReplicasBehindError(error.message);
  throw error;
}
