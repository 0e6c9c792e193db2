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

  /** Set of every queue name ever enqueued to. */
  queues(): string {
    return `${this.root}:queues`;
  }
  /** List of waiting job ids; workers take from the left. */
  queue(name: string): string {
    return `${this.root}:queue:${name}`;
  }
  /** A list holding at most one element; idle workers block on it. */
  wake(queue: string): string {
    return `${this.root}:wake:${queue}`;
  }
  registry(status: RegistryStatus, queue: string): string {
    return `${this.root}:${status}:${queue}`;
  }
  job(id: string): string {
    return `${this.root}:job:${id}`;
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
  /** Pub/sub channel on which a worker hears stop requests for its jobs. */
  control(worker: string): string {
    return `${this.root}:control:${worker}`;
  }
}

/**
 * Parameter names for the Lua twins of the methods above, which
 * worker-node/cli/lua.ts generates into the "keys" include; the type makes a
 * new method without an entry here a compile error.
 */
export const LUA_PARAMS: Record<Exclude<keyof Keys, "root">, string[]> = {
  queues: [],
  queue: ["name"],
  wake: ["queue"],
  registry: ["status", "queue"],
  job: ["id"],
  dependencies: ["id"],
  dependents: ["id"],
  idempotency: ["queue", "key"],
  workers: [],
  worker: ["name"],
  maintenanceLock: [],
  control: ["worker"],
};
