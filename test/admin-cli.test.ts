// The admin CLI as an operator runs it: `node --import tsx worker-node/cli/edgeq.ts admin …`
// as its own process, against the run's redis-server and a real worker. Each
// test asserts what Redis holds after a command, not only what it printed.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue, Schedules, type JobView, type QueueInfo } from "../shared/index.ts";
import { adminRunners, row } from "./support/admin.ts";
import { freePort } from "./support/redis.ts";
import { deleteKeys, uniquePrefix } from "./support/prefixes.ts";
import { until, Workers, type WorkerProcess } from "./support/worker.ts";

const prefix = uniquePrefix("admin");
let redis: Redis;
let worker: WorkerProcess;
const workers = new Workers();
const queue = (name: string) => new Queue(name, { redis, prefix });
const { edgeq, admin } = adminRunners(prefix);

beforeAll(async () => {
  redis = new Redis(inject("redisUrl"));
  worker = await workers.start({
    redis,
    redisUrl: inject("redisUrl"),
    prefix,
    queues: ["mail", "bulk", "tidy"],
  });
});

afterAll(async () => {
  await workers.killAll();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

async function ended(q: Queue, id: string): Promise<JobView> {
  return q.waitFor(id, { timeoutMs: 20_000 });
}

describe("admin CLI", () => {
  it("finds a failed job, shows its stack and attempts, and puts it back in a paused queue", async () => {
    const mail = queue("mail");
    const job = await mail.enqueue("throwHere", {});
    expect((await ended(mail, job.id)).status).toBe("failed");

    const listed = await admin(["queues"]);
    expect(listed.code).toBe(0);
    expect(row(listed.stdout, "mail")).toMatchObject({ paused: "no", failed: "1", queued: "0" });
    // the live workers below the queues, each once, with its state
    const workerTable = listed.stdout.split("\n\n")[1]!;
    expect(row(workerTable, worker.name)).toMatchObject({ state: "idle", queues: "mail,bulk,tidy" });
    expect(listed.stdout).toContain("callback outbox: empty");

    const json = JSON.parse((await admin(["queues", "--json"])).stdout) as { queues: QueueInfo[] };
    const mailInfo = json.queues.find((q) => q.name === "mail")!;
    expect(mailInfo.counts.failed).toBe(1);
    expect(mailInfo.workers.map((w) => w.name)).toEqual([worker.name]);

    const failed = await admin(["jobs", "mail", "--status", "failed"]);
    expect(row(failed.stdout, job.id)).toMatchObject({
      task: "throwHere",
      attempts: "1",
      error: "TypeError: thrown from the fixture module",
    });

    const shown = await admin(["job", job.id]);
    expect(shown.stdout).toMatch(/^status\s+failed$/m);
    // the stack, one frame a line, names the fixture's own function
    expect(shown.stdout).toMatch(/^\s+at explode \(.*tasks\.ts:\d+:\d+\)$/m);
    const shownJson = JSON.parse((await admin(["job", job.id, "--json"])).stdout) as JobView;
    expect(shownJson).toMatchObject({ id: job.id, status: "failed", error: { name: "TypeError" } });

    const attempts = await admin(["attempts", job.id]);
    expect(row(attempts.stdout, "1")).toMatchObject({
      status: "failed",
      error: "TypeError: thrown from the fixture module",
    });

    // paused first, so the requeued job stays where the command put it
    expect((await admin(["pause", "mail"])).code).toBe(0);
    expect((await mail.info()).paused).toBe(true);
    const requeued = await admin(["requeue", job.id]);
    expect(requeued.stdout).toContain(`requeued job "${job.id}" (it was failed; now queued)`);
    expect((await mail.getJob(job.id))!.status).toBe("queued");
    expect(row((await admin(["queues"])).stdout, "mail")).toMatchObject({ paused: "yes", queued: "1" });

    const refused = await admin(["requeue", job.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`job "${job.id}" is queued and cannot be requeued`);

    expect((await admin(["resume", "mail"])).code).toBe(0);
    expect((await mail.info()).paused).toBe(false);
    expect((await ended(mail, job.id)).status).toBe("failed");
  });

  it("requeues every failed job, empties a queue and requeues what that canceled", async () => {
    const bulk = queue("bulk");
    const failing = await bulk.enqueueMany([{ task: "fail" }, { task: "fail" }]);
    for (const job of failing) expect((await ended(bulk, job.id)).status).toBe("failed");
    expect((await admin(["pause", "bulk"])).code).toBe(0);
    const waiting = await bulk.enqueueMany([{ task: "echo" }, { task: "echo" }, { task: "echo" }]);

    const requeued = await admin(["requeue", "--all-failed", "bulk"]);
    expect(requeued.stdout.trim()).toBe('requeued 2 failed jobs of queue "bulk"');
    expect(await bulk.counts()).toMatchObject({ failed: 0, queued: 5 });

    const emptied = await admin(["empty", "bulk", "--json"]);
    expect(JSON.parse(emptied.stdout)).toEqual({ count: 5 });
    expect(await bulk.counts()).toMatchObject({ queued: 0, canceled: 5 });

    const back = await admin(["requeue", "bulk", "--status", "canceled"]);
    expect(back.stdout.trim()).toBe('requeued 5 canceled jobs of queue "bulk"');
    expect(await bulk.counts()).toMatchObject({ queued: 5, canceled: 0 });

    await admin(["resume", "bulk"]);
    for (const job of waiting) expect((await ended(bulk, job.id)).status).toBe("finished");
  });

  it("cleans ended jobs older than an age, and only those", async () => {
    const tidy = queue("tidy");
    const jobs = await tidy.enqueueMany([{ task: "echo" }, { task: "echo" }]);
    for (const job of jobs) await ended(tidy, job.id);

    const young = await admin(["clean", "tidy", "--status", "finished", "--older-than", "1h"]);
    expect(young.stdout.trim()).toBe('deleted 0 finished jobs of queue "tidy" that ended over 1h ago');
    expect((await tidy.counts()).finished).toBe(2);

    const canceled = await tidy.enqueue("echo", null, { delayMs: 3_600_000 });
    await tidy.cancel(canceled.id);
    const onlyCanceled = await admin(["clean", "tidy", "--status", "canceled", "--older-than", "0s", "--json"]);
    expect(JSON.parse(onlyCanceled.stdout)).toEqual({ count: 1 });
    expect(await tidy.counts()).toMatchObject({ finished: 2, canceled: 0 });

    // without --status: every ended status
    const again = await tidy.enqueue("echo", null, { delayMs: 3_600_000 });
    await tidy.cancel(again.id);
    const all = await admin(["clean", "tidy", "--older-than", "0s"]);
    expect(all.stdout.trim()).toBe('deleted 3 ended jobs of queue "tidy" that ended over 0s ago');
    expect(await tidy.counts()).toMatchObject({ finished: 0, canceled: 0 });
    expect(await tidy.getJob(jobs[0]!.id)).toBeNull();
  });

  it("sets, shows, lists, replaces and deletes a schedule", async () => {
    const set = await admin(
      [
        "schedule",
        "digest",
        "--queue",
        "mail",
        "--task",
        "echo",
        "--cron",
        "0 3 * * *",
        "--tz",
        "Europe/Berlin",
      ].concat(["--args", '{"to":"all"}', "--json"]),
    );
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      name: "digest",
      queue: "mail",
      cron: "0 3 * * *",
      args: { to: "all" },
    });
    const schedules = new Schedules({ redis, prefix });
    const stored = await schedules.get("digest");
    expect(stored).toMatchObject({ task: "echo", tz: "Europe/Berlin" });
    // 03:00 in Berlin is 01:00 or 02:00 UTC
    expect(new Date(stored!.nextRuns[0]!).getUTCHours()).toBeGreaterThanOrEqual(1);

    const shown = await admin(["schedule", "digest"]);
    expect(shown.stdout).toMatch(/^when\s+0 3 \* \* \* \(Europe\/Berlin\)$/m);
    const replaced = await admin(["schedule", "digest", "--queue", "mail", "--task", "echo", "--every", "1h"]);
    expect(replaced.stdout).toMatch(/^replaced schedule "digest"/);
    expect(await schedules.get("digest")).toMatchObject({ everyMs: 3_600_000 });
    expect(row((await admin(["schedules"])).stdout, "digest")).toMatchObject({ queue: "mail", when: "every 1h" });

    expect((await admin(["schedule", "digest", "--delete"])).code).toBe(0);
    expect(await schedules.get("digest")).toBeNull();
    const gone = await admin(["schedule", "digest"]);
    expect(gone).toMatchObject({ code: 1, stdout: "" });
    expect(gone.stderr.trim()).toBe('edgeq admin: no schedule named "digest"');
    // a schedule needs its task: nothing is written without it
    expect((await admin(["schedule", "half", "--queue", "mail"])).code).toBe(2);
    expect(await schedules.get("half")).toBeNull();
  });

  it("cancels a waiting job and stops a running one", async () => {
    const mail = queue("mail");
    const running = await mail.enqueue("hang", { ms: 60_000 });
    await until("the job to start", 10_000, async () => (await mail.getJob(running.id))?.status === "started");
    const stop = await admin(["cancel", running.id]);
    expect(stop.stdout.trim()).toBe(`asked the worker running job "${running.id}" to stop it; it ends as stopped`);
    expect((await ended(mail, running.id)).status).toBe("stopped");

    const later = await queue("nobody-listens").enqueue("echo", {});
    const canceled = await admin(["cancel", later.id]);
    expect(canceled.stdout.trim()).toBe(`canceled job "${later.id}" (it was queued)`);
    expect((await queue("nobody-listens").getJob(later.id))!.status).toBe("canceled");
  });

  it("sets and removes a queue's rate limit and concurrency", async () => {
    const limited = queue("limited");
    expect((await admin(["limit", "limited", "--max", "10", "--per", "1s"])).code).toBe(0);
    const concurrency = await admin(["concurrency", "limited", "4", "--json"]);
    expect(JSON.parse(concurrency.stdout)).toMatchObject({ name: "limited", concurrency: 4 });
    expect(await limited.info()).toMatchObject({ limit: { max: 10, perMs: 1000 }, concurrency: 4 });
    await limited.enqueue("echo", {}); // a queue in use shows in the table
    expect(row((await admin(["queues"])).stdout, "limited").limits).toBe("10 per 1s, 4 at once");

    await admin(["limit", "limited", "--off"]);
    await admin(["concurrency", "limited", "--off"]);
    const info = await limited.info();
    expect(info.limit).toBeUndefined();
    expect(info.concurrency).toBeUndefined();
  });

  it("pages through a queue's jobs with the cursor it prints", async () => {
    const paged = queue("paged");
    const [a, b, c] = await paged.enqueueMany([{ task: "a" }, { task: "b" }, { task: "c" }]);
    const first = await admin(["jobs", "paged", "--status", "queued", "--limit", "2"]);
    expect(row(first.stdout, a!.id).task).toBe("a");
    expect(row(first.stdout, b!.id).task).toBe("b");
    expect(first.stdout).not.toContain(c!.id);
    const more = /^more: edgeq admin jobs paged --status queued --cursor (\S+)$/m.exec(first.stdout);
    expect(more).not.toBeNull();
    const second = JSON.parse(
      (await admin(["jobs", "paged", "--status", "queued", "--cursor", more![1]!, "--json"])).stdout,
    ) as { jobs: JobView[]; nextCursor: string | null };
    expect(second.jobs.map((j) => j.task)).toEqual(["c"]);
    expect(second.nextCursor).toBeNull();
  });

  it("reads the prefix from --prefix over EDGEQ_PREFIX, and runs through the edgeq command too", async () => {
    const elsewhere = await admin(["queues"], { EDGEQ_PREFIX: "nothing-here" });
    expect(elsewhere.stdout.trim()).toBe('no queues in use under prefix "nothing-here"');
    const named = await admin(["queues", "--prefix", prefix], { EDGEQ_PREFIX: "nothing-here" });
    expect(row(named.stdout, "mail").paused).toBe("no");
    const viaBin = await edgeq(["admin", "queues", "--prefix", prefix]);
    expect(viaBin.code).toBe(0);
    expect(row(viaBin.stdout, "mail").paused).toBe("no");
  });

  it("exits 1 naming what failed", async () => {
    const missing = await admin(["job", "no-such-job"]);
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr.trim()).toBe('edgeq admin: no job with id "no-such-job"');

    const port = await freePort();
    const down = await admin(["queues"], { REDIS_URL: `redis://:secret@127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`Redis at redis://:redacted@127.0.0.1:${port}`);
    expect(down.stderr).toContain("ECONNREFUSED");
    expect(down.stderr).not.toContain("secret");

    // a cluster none of whose seed nodes answers is an answer too, not a wait
    const noCluster = await admin(["queues"], { REDIS_CLUSTER_NODES: `127.0.0.1:${port}` });
    expect(noCluster.code).toBe(1);
    expect(noCluster.stderr).toContain(`Redis at 127.0.0.1:${port}`);
  });

  it("exits 2 with the usage on a command line it cannot run, and 0 with --help", async () => {
    const lines = [
      [],
      ["frobnicate"],
      ["jobs", "mail"],
      ["jobs", "mail", "--status", "lost"],
      ["clean", "mail", "--status", "finished", "--older-than", "7w"],
      ["limit", "mail", "--max", "10"],
      ["pause"],
      ["pause", "mail", "--max", "3"],
      ["queues", "--prefix", "{oops}"],
      ["queues", "--bogus"],
    ];
    const runs = await Promise.all(lines.map((args) => admin(args)));
    runs.forEach((run, i) => {
      expect({ args: lines[i], code: run.code }).toEqual({ args: lines[i], code: 2 });
      expect(run.stderr).toMatch(/^edgeq admin: .+\n\nusage: edgeq admin /);
    });
    const unit = await admin(["clean", "mail", "--status", "finished", "--older-than", "7w"]);
    expect(unit.stderr).toContain(
      '--older-than must be a number and a unit (ms, s, m, h, d), like 30s or 7d, not "7w"',
    );

    const help = await admin(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["queues", "jobs", "job", "attempts", "cancel", "requeue", "empty", "clean", "pause"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
    const one = await admin(["clean", "--help"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^usage: edgeq admin clean <queue> --older-than <age> \[--status S\]$/m);
  });
});
