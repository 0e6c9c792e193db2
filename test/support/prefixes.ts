// Key prefixes for tests that share the run's Redis (the edge tests in workerd
// too): one per test file, and under it one per test, so that no test reads
// another's keys and a worker started for one test sees only that test's jobs;
// and the keys under a prefix deleted, for files that clean up after themselves.
import type { Redis } from "ioredis";
import { Queue, type QueueOptions, type RedisClient, type TaskMap } from "../../shared/index.ts";
import type { AnyTasks } from "../../shared/tasks.ts";

/** A key prefix no other test file shares, for tests against the shared server. */
export function uniquePrefix(label: string): string {
  return `edgeq-test-${label}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A new prefix at each call, each under the file's own uniquePrefix(label). */
export function prefixesFor(label: string): () => string {
  const file = uniquePrefix(label);
  let taken = 0;
  return () => `${file}-${++taken}`;
}

/**
 * A queue of its own at each call: a new prefix from prefixesFor(label), a Queue named `name` on it, and its
 * keys. `redis` is asked at each call, because test files connect in beforeAll.
 */
export function freshQueues<T extends TaskMap = AnyTasks>(label: string, redis: () => RedisClient) {
  const nextPrefix = prefixesFor(label);
  return (name = "default", options: Partial<QueueOptions> = {}) => {
    const prefix = nextPrefix();
    const queue = new Queue<T>(name, { redis: redis(), prefix, ...options });
    return { prefix, queue, keys: queue.keys };
  };
}

/** Deletes every key under the prefix: what a test file that shares the Redis leaves behind, it removes. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`{${prefix}}:*`);
  if (keys.length > 0) await redis.del(...keys);
}
