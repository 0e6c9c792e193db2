// Every Redis key edgeq uses is spelled here and nowhere else. Scripts build
// keys for ids they discover at run time (a claimed job, a dependent) with Lua
// helpers generated from these methods, so TypeScript and Lua can never
// disagree on a name.
//
// The prefix is wrapped in braces, a Redis Cluster hash tag, so every key of
// one deployment hashes to the same slot and every script may touch any of them.

import { DEFAULTS } from "./defaults.ts";
import type { RegistryStatus } from "./status.ts";

export class Keys {
  /** `{prefix}`: every key starts with it. */
  constructor(readonly root: string) {}

  static forPrefix(prefix: string = DEFAULTS.prefix): Keys {
    return new Keys(`{${prefix}}`);
  }

  /** Sorted set (all scores 0, so in name order) of the queues in use; maintenance drops unused ones. */
  queues(): string {
    return `${this.root}:queues`;
  }
  /** Sorted set of a queue's waiting job ids, scored by priority band and arrival (see includes/push_waiting.lua). */
  waiting(queue: string): string {
    return `${this.root}:waiting:${queue}`;
  }
  /** Sorted set of one group's waiting job ids, scored as waiting's; jobs without a group stay in waiting. */
  groupWaiting(queue: string, group: string): string {
    return `${this.root}:group-waiting:${queue}:${group}`;
  }
  /** Sorted set of every grouped waiting job of a queue, scored as waiting's: what lists and counts read. */
  grouped(queue: string): string {
    return `${this.root}:grouped:${queue}`;
  }
  /**
   * List of the groups a claim may take from, in turn ('' stands for the jobs without a group): a claim takes the
   * head and puts it at the tail, which is what makes claiming round-robin.
   */
  groupsReady(queue: string): string {
    return `${this.root}:groups-ready:${queue}`;
  }
  /** Set of the groups in groupsReady, so that none is listed twice. */
  groupsListed(queue: string): string {
    return `${this.root}:groups-listed:${queue}`;
  }
  /** Sorted set of the groups out of turn until their rate window opens, scored by when it does. */
  groupsLimited(queue: string): string {
    return `${this.root}:groups-limited:${queue}`;
  }
  /** Hash of group → how many of its jobs are started across the fleet. */
  groupActive(queue: string): string {
    return `${this.root}:group-active:${queue}`;
  }
  /** Sorted set of a queue's groups scored by load (waiting + started jobs), and those with a policy of their own. */
  groups(queue: string): string {
    return `${this.root}:groups:${queue}`;
  }
  /** Hash of group → its own policy as JSON (concurrency, limit, paused), over the queue's default. */
  groupPolicies(queue: string): string {
    return `${this.root}:group-policies:${queue}`;
  }
  /** Sorted set of a rate-limited group's starts within its window, scored by start time. */
  groupRate(queue: string, group: string): string {
    return `${this.root}:group-rate:${queue}:${group}`;
  }
  /** The id of the job a debounce key gathers calls into while it waits; it expires with the job's wait. */
  debounce(queue: string, key: string): string {
    return `${this.root}:debounce:${queue}:${key}`;
  }
  /** The id of the job a dedupe key answers with, for the key's window. */
  dedupe(queue: string, key: string): string {
    return `${this.root}:dedupe:${queue}:${key}`;
  }
  /** Hash of per-queue arrival counters, for FIFO order within a priority. */
  sequence(): string {
    return `${this.root}:sequence`;
  }
  /** Hash of per-queue settings (paused, rate limit, fleet concurrency) as JSON, read by every claim. */
  settings(): string {
    return `${this.root}:settings`;
  }
  /** Sorted set of the starts of a rate-limited queue within its window, scored by start time. */
  rate(queue: string): string {
    return `${this.root}:rate:${queue}`;
  }
  /** Sorted set of every started job of every queue, scored by lease expiry: maintenance's one place to look. */
  leases(): string {
    return `${this.root}:leases`;
  }
  /** A list holding at most one element; idle workers block on it. */
  wake(queue: string): string {
    return `${this.root}:wake:${queue}`;
  }
  /** The outbox's wake list: idle workers block on it beside their queues' to deliver callbacks. */
  outboxWake(): string {
    return `${this.root}:outbox-wake`;
  }
  registry(status: RegistryStatus, queue: string): string {
    return `${this.root}:${status}:${queue}`;
  }
  job(id: string): string {
    return `${this.root}:job:${id}`;
  }
  /** List of a job's earlier attempts (newest first, bounded); the latest attempt is the job itself. */
  attempts(id: string): string {
    return `${this.root}:attempts:${id}`;
  }
  /** Hash of a durable job's recorded steps: step id → JSON { n, startedAt, endedAt, result }; gone with the job. */
  steps(id: string): string {
    return `${this.root}:steps:${id}`;
  }
  /** List of a job's log lines (ctx.log), oldest first, each JSON { at, attempt, text, level? }; gone with the job. */
  logs(id: string): string {
    return `${this.root}:logs:${id}`;
  }
  /** Set of the ids of a queue's jobs that wait (ctx.waitForEvent) for an event, with this key ('' for any key). */
  eventWaiters(queue: string, event: string, key: string): string {
    return `${this.root}:event-waiters:${queue}:${event}:${key}`;
  }
  /** Pub/sub channel of a job's changes: its status, its progress. */
  events(id: string): string {
    return `${this.root}:events:${id}`;
  }
  /**
   * Stream of a queue's job transitions (GET /v1/queues/:queue/events, Queue.events), capped near
   * DEFAULTS.queueEventsMaxLen entries: each entry is `event` (a status, or progress) and `data` (JSON).
   */
  queueEvents(queue: string): string {
    return `${this.root}:queue-events:${queue}`;
  }
  /** Ids of the unfinished jobs that a deferred job waits for. */
  dependencies(id: string): string {
    return `${this.root}:deps:${id}`;
  }
  /** Ids of the deferred jobs that wait for this one. */
  dependents(id: string): string {
    return `${this.root}:dependents:${id}`;
  }
  idempotency(queue: string, key: string): string {
    return `${this.root}:idempotency:${queue}:${key}`;
  }
  /** Sorted set of worker names, scored by when their heartbeat runs out. */
  workers(): string {
    return `${this.root}:workers`;
  }
  worker(name: string): string {
    return `${this.root}:worker:${name}`;
  }
  maintenanceLock(): string {
    return `${this.root}:lock:maintenance`;
  }
  /** Where the maintenance pass's sweep over the queues stopped. */
  maintenanceCursor(): string {
    return `${this.root}:maintenance-cursor`;
  }
  /** List of jobs whose dependents are still to be canceled or released (a fan-out too large for one call). */
  cascade(): string {
    return `${this.root}:cascade`;
  }
  /** Hash of counters per queue: jobs ended per status, and the run-time histogram. */
  stats(queue: string): string {
    return `${this.root}:stats:${queue}`;
  }
  /** Hash of the jobs a queue finished and failed in one minute (epoch minute), kept two hours. */
  minute(queue: string, minute: string): string {
    return `${this.root}:minute:${queue}:${minute}`;
  }
  /** Sorted set of callback deliveries, scored by when they are due (or when their lease runs out). */
  outbox(): string {
    return `${this.root}:outbox`;
  }
  /** Sorted set of callback deliveries, scored by when they were created: the outbox's oldest entry. */
  outboxAge(): string {
    return `${this.root}:outbox-age`;
  }
  /** Hash of one callback delivery: the URL, the job as it ended, the attempts. */
  delivery(id: string): string {
    return `${this.root}:delivery:${id}`;
  }
  /** Sorted set of schedule names, scored by when each next fires. */
  schedules(): string {
    return `${this.root}:schedules`;
  }
  /** Hash of one schedule: its spec (JSON), when it was made and changed, when it last fired and the job it made. */
  schedule(name: string): string {
    return `${this.root}:schedule:${name}`;
  }
  /** Sorted set (scores 0, so in name order) of the schedules that enqueue to a queue. */
  queueSchedules(queue: string): string {
    return `${this.root}:queue-schedules:${queue}`;
  }
  /** Pub/sub channel on which workers hear that a schedule was made, changed or removed. */
  schedulesChanged(): string {
    return `${this.root}:schedules-changed`;
  }
  /** Pub/sub channel on which a worker hears stop requests for its jobs. */
  control(worker: string): string {
    return `${this.root}:control:${worker}`;
  }
  /**
   * A webhook delivery the intake accepted, by its job id; it outlives the job, so that a replay within the hook's
   * replay window is not run again.
   */
  seenDelivery(id: string): string {
    return `${this.root}:seen-delivery:${id}`;
  }
  /** Hash of the tasks a queue's workers declared: name → JSON `{ declaredAt, args }` (args: JSON Schema or null). */
  tasks(queue: string): string {
    return `${this.root}:tasks:${queue}`;
  }
  /** Counter of one API key's requests in one fixed window (epoch ms / window length); it expires with the window. */
  requests(key: string, window: string): string {
    return `${this.root}:requests:${key}:${window}`;
  }
}

/**
 * Parameter names for the Lua twins of the methods above, which
 * tools/lua.ts generates into the "keys" include; the type makes a
 * new method without an entry here a compile error.
 */
export const LUA_PARAMS: Record<Exclude<keyof Keys, "root">, string[]> = {
  queues: [],
  waiting: ["queue"],
  groupWaiting: ["queue", "group"],
  grouped: ["queue"],
  groupsReady: ["queue"],
  groupsListed: ["queue"],
  groupsLimited: ["queue"],
  groupActive: ["queue"],
  groups: ["queue"],
  groupPolicies: ["queue"],
  groupRate: ["queue", "group"],
  debounce: ["queue", "key"],
  dedupe: ["queue", "key"],
  sequence: [],
  settings: [],
  rate: ["queue"],
  leases: [],
  wake: ["queue"],
  outboxWake: [],
  registry: ["status", "queue"],
  job: ["id"],
  attempts: ["id"],
  steps: ["id"],
  logs: ["id"],
  eventWaiters: ["queue", "event", "key"],
  events: ["id"],
  queueEvents: ["queue"],
  dependencies: ["id"],
  dependents: ["id"],
  idempotency: ["queue", "key"],
  workers: [],
  worker: ["name"],
  maintenanceLock: [],
  maintenanceCursor: [],
  cascade: [],
  stats: ["queue"],
  minute: ["queue", "minute"],
  outbox: [],
  outboxAge: [],
  delivery: ["id"],
  schedules: [],
  schedule: ["name"],
  queueSchedules: ["queue"],
  schedulesChanged: [],
  control: ["worker"],
  seenDelivery: ["id"],
  tasks: ["queue"],
  requests: ["key", "window"],
};
