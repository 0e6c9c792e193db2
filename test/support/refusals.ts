// Checking that refused input writes nothing (test/queue-*.test.ts): every key
// under a prefix with its content, taken before and after the call, and the
// error the call was refused with.
import { expect } from "vitest";
import { type Queue, ValidationError } from "../../shared/index.ts";
import { redis } from "./connection.ts";

/** Every key under the prefix with its type, content and whether it expires. */
export async function snapshot(prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys(`{${prefix}}:*`)).sort()) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === "hash") value = await redis.hgetall(key);
    else if (type === "list") value = await redis.lrange(key, 0, -1);
    else if (type === "zset") value = await redis.zrange(key, "0", "-1", "WITHSCORES");
    else if (type === "set") value = (await redis.smembers(key)).sort();
    else if (type === "stream") value = await redis.xrange(key, "-", "+");
    else value = await redis.get(key);
    out[key] = { type, value, expires: (await redis.pttl(key)) >= 0 };
  }
  return out;
}

export async function keyCount(prefix: string): Promise<number> {
  return (await redis.keys(`{${prefix}}:*`)).length;
}

/** Awaits a rejection and returns the error, failing the test if there is none. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a result");
}

/**
 * Runs an operation that must be refused with a ValidationError naming
 * `field`, on a queue that already holds a job, and checks that Redis is
 * exactly as before.
 */
export async function expectRefused(
  env: { prefix: string; queue: Queue },
  op: (queue: Queue) => Promise<unknown>,
  field: string | RegExp,
): Promise<ValidationError> {
  if ((await keyCount(env.prefix)) === 0) await env.queue.enqueue("existing", { n: 0 });
  const before = await snapshot(env.prefix);
  const error = await rejection(op(env.queue));
  expect(error).toBeInstanceOf(ValidationError);
  const issues = (error as ValidationError).issues;
  const fields = issues.map((i) => i.field);
  if (typeof field === "string") expect(fields).toContain(field);
  else
    expect(
      fields.some((f) => field.test(f)),
      `fields ${JSON.stringify(fields)}`,
    ).toBe(true);
  expect((error as ValidationError).status).toBe(400);
  expect(await snapshot(env.prefix)).toEqual(before);
  return error as ValidationError;
}
