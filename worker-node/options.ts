// What a Worker is given (WorkerOptions, which `edgeq worker` fills from its
// flags and environment: main.ts, config.ts), and the defaults it takes for
// what is not given.
import type { Logger } from "pino";
import { DEFAULTS } from "../shared/defaults.ts";
import type { ReplicaWait } from "../shared/replicas.ts";
import { CallbackAllowlist } from "./callback.ts";
import type { SentinelTarget } from "./connection.ts";
import type { OutboxOptions } from "./outbox.ts";

export interface WorkerOptions {
  redisUrl: string;
  /** A Redis Cluster's seed nodes (host:port); redisUrl then lends only its credentials and TLS. */
  clusterNodes?: string[];
  /** Sentinels that name the master (README: "Running highly available"); redisUrl then lends its credentials. */
  sentinel?: SentinelTarget;
  /** Report a job's ending only once WAIT says this many replicas have it (EDGEQ_WAIT_REPLICAS). */
  waitReplicas?: ReplicaWait;
  queues: string[];
  /** Path of the task module. */
  tasks: string;
  concurrency?: number;
  /** Where a job runs: a child process, a worker thread, or the worker itself (README: Isolation). */
  isolation?: "process" | "thread" | "inline";
  /** Jobs a horse serves before it is replaced (1: a fresh process or thread per job). */
  horseMaxJobs?: number;
  /** Ceiling of each horse's JavaScript heap, in MB; past it the job fails with HorseOutOfMemoryError. */
  horseMaxMemoryMb?: number | null;
  /** Names of the worker's environment variables a horse gets besides DEFAULTS.horseEnv. */
  horseEnv?: string[];
  burst?: boolean;
  prefix?: string;
  name?: string;
  logger: Logger;
  /** How long a claim holds a job without renewal. */
  leaseMs?: number;
  /** Heartbeat interval while idle; the worker entry expires after 3 of them. */
  heartbeatMs?: number;
  /** How often the fleet runs the maintenance pass (under a lock). */
  maintenanceMs?: number;
  /** Time between SIGTERM and SIGKILL for a horse that must stop. */
  killGraceMs?: number;
  /** Longest a blocking wait lasts with nothing scheduled. */
  idleBlockMs?: number;
  /** Callback deliveries: the signing secret, what they may reach inside the network, their pace. */
  callbacks?: Partial<CallbackSettings>;
}

export interface CallbackSettings extends Omit<OutboxOptions, "allow"> {
  /** Host names, addresses and CIDRs inside the network that callbacks may reach (EDGEQ_CALLBACK_ALLOW). */
  allow: string[];
}

/** A worker's options with every default filled in, but for those that stay optional. */
export type Settings = Required<Omit<WorkerOptions, LeftOptional>>;

/** Options that have no default: unset means none. */
type LeftOptional = "name" | "prefix" | "callbacks" | "clusterNodes" | "sentinel" | "waitReplicas";

export function settingsOf(options: WorkerOptions): Settings {
  const { concurrency, isolation, horseMaxJobs, horseMaxMemoryMb } = DEFAULTS;
  const { leaseMs, heartbeatMs, maintenanceMs, killGraceMs, idleBlockMs } = DEFAULTS;
  return {
    concurrency,
    isolation,
    horseMaxJobs,
    horseMaxMemoryMb,
    horseEnv: [],
    burst: false,
    leaseMs,
    heartbeatMs,
    maintenanceMs,
    killGraceMs,
    idleBlockMs,
    ...definedOnly(options),
  };
}

/** How the worker's outbox delivers callbacks: the options given, over the defaults. */
export function outboxOptionsOf(options: WorkerOptions): OutboxOptions {
  const callbacks = { ...DEFAULTS_CALLBACKS, ...definedOnly(options.callbacks ?? {}) };
  return { ...callbacks, allow: new CallbackAllowlist(callbacks.allow) };
}

const DEFAULTS_CALLBACKS: CallbackSettings = {
  secret: null,
  allow: [],
  concurrency: DEFAULTS.callbackConcurrency,
  attempts: DEFAULTS.callbackAttempts,
  leaseMs: DEFAULTS.callbackLeaseMs,
  timeoutMs: DEFAULTS.callbackTimeoutMs,
  backoffMs: DEFAULTS.callbackBackoffMs,
};

/** The options that were given: an explicit undefined keeps the default. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}
