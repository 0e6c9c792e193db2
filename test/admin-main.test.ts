// The admin CLI's main() in this process, as code that imports it would run
// it, against the run's redis-server: its help and exit codes, command names
// every object inherits, groups, and reading jobs. No worker: nothing here runs.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue, type JobView } from "../shared/index.ts";
import { COMMANDS } from "../worker-node/cli/admin/commands.ts";
import { adminRunners, row } from "./support/admin.ts";
import { deleteKeys, uniquePrefix } from "./support/prefixes.ts";

const prefix = uniquePrefix("admin-main");
let redis: Redis;
const queue = (name: string) => new Queue(name, { redis, prefix });
const { edgeq, inProcess } = adminRunners(prefix);

beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

describe("admin main(), in this process", () => {
  it("answers --help with 0 and every command", async () => {
    const help = await inProcess(["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: edgeq admin <command> \[--json\] \[--prefix P\]\n/);
    for (const command of Object.keys(COMMANDS)) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
  });

  it("answers an unknown command with 2 and the usage", async () => {
    const run = await inProcess(["frobnicate"]);
    expect(run).toMatchObject({ code: 2, stdout: "" });
    expect(run.stderr).toMatch(/^edgeq admin: no command "frobnicate"\n\nusage: edgeq admin <command> /);
  });

  it("answers a name every object inherits as an unknown command, not a crash", async () => {
    for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      const run = await inProcess([name, "mail"]);
      expect(run).toMatchObject({ code: 2, stdout: "" });
      expect(run.stderr).toMatch(new RegExp(`^edgeq admin: no command "${name}"\n\nusage: edgeq admin <command> `));
      // the help of no command is the help of all of them
      const help = await inProcess(["help", name]);
      expect(help).toMatchObject({ code: 0, stderr: "" });
      expect(help.stdout).toMatch(/^usage: edgeq admin <command> /);
    }
    // the edgeq bin looks its subcommands up the same way
    const bin = await edgeq(["toString"]);
    expect(bin.code).toBe(2);
    expect(bin.stderr).toMatch(/^edgeq: no command "toString"\n/);
  });

  it("answers a bad flag value with 2 and the help of its command", async () => {
    const run = await inProcess(["jobs", "mail", "--status", "lost"]);
    expect(run).toMatchObject({ code: 2, stdout: "" });
    expect(run.stderr).toMatch(/^edgeq admin: --status must be one of queued, .+, not "lost"\n\n/);
    expect(run.stderr).toMatch(/^usage: edgeq admin jobs <queue> --status S \[--limit N\] \[--cursor C\]$/m);
  });

  it("lists a queue's groups with their counts and policies, and sets, pauses and resumes one", async () => {
    const tenants = queue("tenants");
    await tenants.configure({ groups: { concurrency: 2 } });
    await tenants.enqueueMany([
      { task: "echo", options: { group: "acme" } },
      { task: "echo", options: { group: "acme" } },
      { task: "echo", options: { group: "globex" } },
      { task: "echo" },
    ]);
    const set = await inProcess(["group", "tenants", "acme", "--max", "5", "--per", "1m", "--pause"]);
    expect(set).toMatchObject({ code: 0, stderr: "" });
    expect(set.stdout).toBe(
      'group "acme" of queue "tenants": own policy paused, 5 per 1m; obeys paused, 5 per 1m, 2 at once\n',
    );
    const listed = await inProcess(["groups", "tenants"]);
    expect(listed.stdout).toMatch(/^queue "tenants": 2 groups; each group's default policy: 2 at once$/m);
    expect(listed.stdout).toMatch(/^jobs without a group: 1 waiting, 0 started$/m);
    expect(row(listed.stdout.split("\n").slice(2).join("\n"), "acme")).toEqual({
      group: "acme",
      waiting: "2",
      started: "0",
      "own policy": "paused, 5 per 1m",
      obeys: "paused, 5 per 1m, 2 at once",
    });
    await inProcess(["group", "tenants", "acme", "--resume", "--per", "none", "--concurrency", "1"]);
    const json = JSON.parse((await inProcess(["groups", "tenants", "--json", "--limit", "1"])).stdout);
    expect(json).toMatchObject({ groups: [{ name: "acme", policy: { concurrency: 1 } }], nextCursor: "1" });
    expect((await tenants.groups()).groups[0]!.effective).toEqual({ concurrency: 1 });
  });

  it("refuses a group change it cannot make: 2 for the command line, 1 for limits out of range", async () => {
    const nothing = await inProcess(["group", "tenants", "acme"]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^edgeq admin: say what to change: /);
    expect((await inProcess(["group", "tenants", "acme", "--max", "3"])).code).toBe(2);
    const zero = await inProcess(["group", "tenants", "acme", "--concurrency", "0"]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/concurrency: /);
  });

  it("sets, merges, shows and removes what a queue keeps of its ended jobs", async () => {
    const kept = queue("kept");
    expect(await inProcess(["keep", "kept", "--finished", "100"])).toMatchObject({
      code: 0,
      stdout: 'queue "kept" keeps the latest 100 finished jobs\n',
    });
    // a flag left out keeps its value
    await inProcess(["keep", "kept", "--failed", "20"]);
    expect((await kept.info()).keep).toEqual({ finished: 100, failed: 20 });
    expect((await inProcess(["keep", "kept"])).stdout).toBe(
      'queue "kept" keeps the latest 100 finished and the latest 20 failed jobs\n',
    );
    expect(JSON.parse((await inProcess(["keep", "kept", "--json"])).stdout)).toEqual({ finished: 100, failed: 20 });
    await inProcess(["keep", "kept", "--off"]);
    expect((await kept.info()).keep).toBeUndefined();
    expect((await inProcess(["keep", "kept"])).stdout).toBe('queue "kept" keeps every ended job until its TTL\n');
    // 2 for a command line it cannot read, 1 for a count out of range
    expect((await inProcess(["keep", "kept", "--finished", "many"])).code).toBe(2);
    expect((await inProcess(["keep", "kept", "--off", "--failed", "3"])).code).toBe(2);
    const zero = await inProcess(["keep", "kept", "--finished", "0"]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/keep\.finished/);
  });

  it("reads a queue's jobs with 0, and a missing job with 1", async () => {
    const waiting = await queue("in-process").enqueue("echo", { n: 1 });
    const listed = await inProcess(["jobs", "in-process", "--status", "queued"]);
    expect(listed).toMatchObject({ code: 0, stderr: "" });
    expect(row(listed.stdout, waiting.id)).toMatchObject({ task: "echo", attempts: "0" });
    const json = await inProcess(["jobs", "in-process", "--status", "queued", "--json"]);
    expect((JSON.parse(json.stdout) as { jobs: JobView[] }).jobs.map((j) => j.id)).toEqual([waiting.id]);

    const missing = await inProcess(["job", "no-such-job"]);
    expect(missing).toEqual({ code: 1, stdout: "", stderr: 'edgeq admin: no job with id "no-such-job"\n' });
  });
});
