// The run's Redis for a test file that reads and writes keys itself: a
// connection and its script runner, opened before the file's tests and closed
// after them, and a second client for what someone else does meanwhile. They
// are live bindings, set once the file's beforeAll has run: read them inside
// tests, hooks and the functions those call, never at a file's top level.
import { Redis } from "ioredis";
import { afterAll, beforeAll, inject } from "vitest";
import { scriptRunner } from "../../shared/redis.ts";
import type { ScriptRunner } from "../../shared/script.ts";

export let redis: Redis;
export let runner: ScriptRunner;
/** Another client on the same server: a worker or a producer that is not the test. */
export let other: Redis;

/** Opens `redis`, `runner` and `other` before the calling file's tests, and closes them after. */
export function connectForFile(): void {
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"));
    other = new Redis(inject("redisUrl"));
    runner = scriptRunner(redis);
  });
  afterAll(async () => {
    await redis.quit();
    await other.quit();
  });
}
