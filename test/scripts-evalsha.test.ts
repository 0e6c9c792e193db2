// How the typed script functions (shared/script.ts) reach Redis: EVALSHA with
// an EVAL fallback once the script cache is flushed, a script's own errors
// passed through naming the line of its .lua file, and scripts in a pipeline.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { execPipeline } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import { connectForFile, redis, runner } from "./support/connection.ts";
import { claimIds, scriptQueues } from "./support/scripts.ts";

connectForFile();
const fresh = scriptQueues("scripts-evalsha");
/** A renewal whose worker entry would live 1.5 ms: PEXPIRE refuses it (not an integer), an error of Redis's own. */
const broken = { now: 1, leaseMs: 1_000, worker: "w", state: {}, entryTtlMs: 1.5, running: [] };

describe("EVALSHA with EVAL fallback", () => {
  it("loads a script again after SCRIPT FLUSH (NOSCRIPT → EVAL)", async () => {
    const { queue, keys } = fresh();
    await queue.enqueue("t");
    const sha = scripts.enqueue.script.sha;
    expect(await redis.script("EXISTS", sha)).toEqual([1]);

    await redis.script("FLUSH");
    expect(await redis.script("EXISTS", sha)).toEqual([0]);
    const job = await queue.enqueue("t", { after: "flush" });
    expect(job.status).toBe("queued");
    expect(await redis.script("EXISTS", sha)).toEqual([1]);
    expect(await queue.getJob(job.id)).toEqual(job);

    await redis.script("FLUSH");
    expect(await claimIds(keys, Date.now(), { max: 10 })).toHaveLength(2);
    expect(await redis.script("EXISTS", scripts.claim.script.sha)).toEqual([1]);
  });

  it("passes other script errors through, naming the line of the .lua file", async () => {
    const { keys } = fresh();
    // a lifetime that is not a whole number makes the script raise; that must not be retried as NOSCRIPT
    const error = await scripts.renew.run(runner, keys, broken).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/ERR value is not an integer/);
    // Redis counts lines of the assembled script; the message names the source file's own line
    const source = readFileSync(new URL("../shared/scripts/renew.lua", import.meta.url), "utf8").split("\n");
    const line = source.findIndex((l) => l.includes("redis.call('PEXPIRE', K.worker(worker), ttl)")) + 1;
    expect((error as Error).message).toContain(`shared/scripts/renew.lua:${line}`);
    expect((error as Error).message).not.toMatch(/user_script/);
  });

  it("in a pipeline: commands ahead answer as they came, an uncached script goes again, an error ends", async () => {
    const { queue, keys } = fresh();
    const job = await queue.enqueue("t");
    await redis.script("FLUSH");
    // cached: its error comes from the pipeline itself, not from the fallback
    await redis.script("LOAD", scripts.renew.script.compiled.source);
    const get = scripts.getJob.call(keys, { id: job.id });
    const replies = await execPipeline(redis.pipeline().ping(), runner, [get, scripts.renew.call(keys, broken), get]);
    expect(replies).toHaveLength(3);
    expect(replies[0]).toEqual([null, "PONG"]);
    expect(replies[1]).toEqual(await scripts.getJob.run(runner, keys, { id: job.id }));
    expect(replies[2]).toBeInstanceOf(Error);
    expect((replies[2] as Error).message).toContain("shared/scripts/renew.lua:");
    expect(await redis.script("EXISTS", scripts.getJob.script.sha)).toEqual([1]);
  });
});
