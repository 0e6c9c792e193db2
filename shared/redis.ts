// The two Redis clients edgeq accepts, seen through the one interface its
// code needs (ScriptRunner): ioredis over TCP, @upstash/redis over REST.
import type { ScriptRunner } from "./script.ts";

/** The part of ioredis edgeq calls: (sha, numkeys, ...keys, ...args). */
interface IoredisLike {
  evalsha(sha: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(source: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  defineCommand: unknown;
}

/** The part of @upstash/redis edgeq calls: (sha, keys, args). */
type UpstashLike = ScriptRunner;

export type RedisClient = IoredisLike | UpstashLike;

export function scriptRunner(redis: RedisClient): ScriptRunner {
  if ("defineCommand" in redis && typeof redis.defineCommand === "function") {
    const io = redis as IoredisLike;
    return {
      evalsha: (sha, keys, args) => io.evalsha(sha, keys.length, ...keys, ...args),
      eval: (source, keys, args) => io.eval(source, keys.length, ...keys, ...args),
    };
  }
  if (typeof redis.evalsha !== "function" || typeof redis.eval !== "function") {
    throw new TypeError("redis must be an ioredis client or an @upstash/redis client");
  }
  return redis as UpstashLike;
}
