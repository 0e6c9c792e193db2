// The Lua build (tools/lua.ts) and the rules it carries into every
// script: the status map of shared/status.ts is enforced by move(), and an
// error Redis reports names the line of the .lua file it came from.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Keys } from "../shared/keys.ts";
import { scriptRunner } from "../shared/redis.ts";
import { Script } from "../shared/script.ts";
import { LUA_PARAMS } from "../shared/keys.ts";
import { REGISTRY_STATUSES, STATUSES, TRANSITIONS, CREATED_AS, type JobStatus } from "../shared/status.ts";
import { compileLua } from "../tools/lua.ts";
import { uniquePrefix } from "./support/prefixes.ts";

let redis: Redis;
const keys = Keys.forPrefix(uniquePrefix("lua"));

beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
});

afterAll(async () => {
  await redis.quit();
});

// A job created as `from` (or none) and moved to `to` by the same move() every script uses.
const probe = new Script(
  compileLua(
    "test/lua.test.ts (probe)",
    `--- @include "move"
local from = ARGV[3] ~= '' and ARGV[3] or nil
redis.call('DEL', K.job(ARGV[2]))
move(ARGV[2], 'default', from, ARGV[4])
return cjson.encode({ status = redis.call('HGET', K.job(ARGV[2]), 'status') })
`,
  ),
);

async function tryMove(from: JobStatus | "", to: JobStatus): Promise<string> {
  try {
    const reply = (await probe.run(scriptRunner(redis), keys, ["job-1", from, to])) as { status: string };
    return reply.status;
  } catch (error) {
    return (error as Error).message;
  }
}

describe("key names", () => {
  it("gives every kind of key a name of its own: no status's registry spells another key", () => {
    const keys = new Keys("{p}");
    const sample = keys as unknown as Record<string, (...args: string[]) => string>;
    // each kind by the name it puts after the root, its parameters as "x"
    const kinds = Object.entries(LUA_PARAMS)
      .filter(([method]) => method !== "registry")
      .map(([method, params]) => sample[method]!(...params.map(() => "x")).split(":")[1]!);
    for (const status of REGISTRY_STATUSES)
      expect(kinds, status).not.toContain(keys.registry(status, "x").split(":")[1]);
    expect(new Set(kinds).size, kinds.join(", ")).toBe(kinds.length);
  });
});

describe("move(), the one way a script changes a status", () => {
  it("makes exactly the moves status.ts lists, and refuses every other", async () => {
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        const outcome = await tryMove(from, to);
        if (TRANSITIONS[from][to]) expect(outcome, `${from} → ${to}`).toBe(to);
        else expect(outcome, `${from} → ${to}`).toMatch(`may not move from ${from} to ${to}`);
      }
    }
  });

  it("creates a job only in a status status.ts names as a starting one", async () => {
    for (const to of STATUSES) {
      const outcome = await tryMove("", to);
      if (CREATED_AS[to]) expect(outcome, `new → ${to}`).toBe(to);
      else expect(outcome, `new → ${to}`).toMatch(`may not move from nil to ${to}`);
    }
  });

  it("names the line of move.lua when it refuses", async () => {
    const message = await tryMove("finished", "queued");
    expect(message).toMatch(/shared\/scripts\/includes\/move\.lua:\d+/);
    expect(message).not.toMatch(/user_script/);
  });
});
