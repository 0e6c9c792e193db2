// What a horse loads: the task module and what it imports, compiled into one
// file. A task module written as the README shows imports `edgeq/worker`,
// which also exports the Worker; the horse must not carry the Worker's Redis
// client and scripts, which it never runs, since every fork would parse them.
import { readFile } from "node:fs/promises";
import { expect, test } from "vitest";
import { compileHorse } from "../worker-node/horse/bundle.ts";

test("a horse for a task module importing edgeq/worker holds the tasks and zod, not ioredis or the Lua", async () => {
  const code = await readFile(await compileHorse("test/fixtures/typed-tasks.ts"), "utf8");
  // the fixture's own task and the schema library it uses are there
  expect(code).toContain("contain");
  expect(code).toMatch(/ZodObject/);
  // ioredis's client and the Lua the Worker sends are not
  expect(code).not.toMatch(/ioredis/);
  expect(code).not.toContain("redis.call(");
});
