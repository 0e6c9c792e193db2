// Chaos under Sentinel: EDGEQ_CHAOS_JOBS jobs (default 2,000) from two
// producers and three worker processes, all over REDIS_SENTINELS with
// EDGEQ_WAIT_REPLICAS=1. Mid-run the master is SIGKILLed, Sentinel promotes
// the replica, and the old master comes back as a replica of it. Every job a
// producer saw acknowledged must end as its task decides (finished, or failed
// with its own error), none may be lost, the tasks that ran more often than
// their attempts account for (at-least-once reruns) must be among the jobs
// started when the master died, and no worker may have needed a restart.
// The figures are printed: jobs, kills, lost, reruns, time to resume.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { Queue, ReplicasBehindError, type JobView } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { startSentinels, type SentinelHandle } from "../support/sentinel.ts";
import { test, until, type WorkerProcess } from "../support/worker.ts";

const JOBS = Number(process.env.EDGEQ_CHAOS_JOBS ?? 2_000);
/** Every tenth job fails, on each of its attempts. */
const FAILING = 10;
const RETRY = { max: 3 };
const prefix = uniquePrefix("chaos-sentinel");
const waitReplicas = { replicas: 1, timeoutMs: 1_000 };

let deployment: SentinelHandle;
let watcher: Redis;
let dir: string;

beforeAll(async () => {
  deployment = await startSentinels();
  watcher = deployment.client({ maxRetriesPerRequest: null });
  // the kill cuts its connection; it follows Sentinel to the new master
  watcher.on("error", () => {});
  dir = await mkdtemp(join(tmpdir(), "edgeq-chaos-sentinel-"));
});

afterAll(async () => {
  watcher?.disconnect();
  await deployment?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A producer: its own Sentinel client, its share in paced chunks; an enqueue not acknowledged is sent again. */
async function produce(name: string, count: number, acknowledged: Map<string, boolean>, paceMs: number) {
  const redis = deployment.client({ maxRetriesPerRequest: null });
  redis.on("error", () => {});
  const queue = new Queue("default", { redis, prefix, waitReplicas });
  const log = join(dir, "runs.log");
  let refused = 0;
  const enqueue = async (i: number) => {
    const id = `${name}-${i}`;
    const fail = i % FAILING === 0;
    for (;;) {
      try {
        await queue.enqueue("tally", { log, ms: 5 + (i % 20), fail }, { id, retry: RETRY });
        acknowledged.set(id, fail);
        return;
      } catch (error) {
        // not acknowledged (no replica confirmed it, or the connection went mid-call): the same id again
        if (!(error instanceof ReplicasBehindError)) throw error;
        refused++;
      }
    }
  };
  try {
    for (let i = 0; i < count; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => enqueue(i + j)));
      await new Promise((resolve) => setTimeout(resolve, paceMs));
    }
  } finally {
    redis.disconnect();
  }
  return refused;
}

describe(`chaos under Sentinel (EDGEQ_CHAOS_JOBS=${JOBS})`, () => {
  test("a SIGKILLed master, a promoted replica: nothing acknowledged lost, reruns only of jobs running at the kill", {
    timeout: 120_000 + JOBS * 30,
  }, async ({ workers }) => {
    const queue = new Queue("default", { redis: watcher, prefix });
    const env = {
      REDIS_SENTINELS: deployment.sentinels.join(","),
      REDIS_SENTINEL_NAME: deployment.name,
      EDGEQ_WAIT_REPLICAS: String(waitReplicas.replicas),
      EDGEQ_WAIT_TIMEOUT_MS: String(waitReplicas.timeoutMs),
      // a lease outlives the failover: a job is run again for what the failover undid, not for its length
      EDGEQ_LEASE_MS: "15000",
    };
    const spec = {
      redis: watcher,
      redisUrl: "redis://127.0.0.1",
      prefix,
      flags: ["--concurrency", "4", "--horse-max-jobs", "1000"],
      env,
    };
    const started: WorkerProcess[] = [await workers.start(spec), await workers.start(spec), await workers.start(spec)];
    const pids = started.map((worker) => worker.pid);

    // producing spans about ten seconds, so the kill finds jobs waiting, running and being enqueued
    const acknowledged = new Map<string, boolean>();
    const paceMs = Math.max(1, Math.floor((10_000 * 10) / (JOBS / 2)));
    const producing = Promise.all([
      produce("a", Math.ceil(JOBS / 2), acknowledged, paceMs),
      produce("b", Math.floor(JOBS / 2), acknowledged, paceMs),
    ]);
    const ended = async () => {
      const counts = await queue.counts();
      return counts.finished + counts.failed;
    };
    await until("a third of the jobs to end", 60_000 + JOBS * 20, async () => (await ended()) >= JOBS / 3);

    const old = await deployment.master();
    const oldMaster = deployment.node(old);
    const leases = `{${prefix}}:leases`;
    const runningAtKill = new Set(await oldMaster.zrange(leases, "0", "-1"));
    const endedAtKill = await ended();
    oldMaster.disconnect();
    const killedAt = Date.now();
    await deployment.kill(old);
    const promoted = await deployment.failedOver(old);
    // what the replica had of the started jobs when it was promoted counts as running at the kill too
    const replicaView = deployment.node(promoted);
    for (const id of await replicaView.zrange(leases, "0", "-1")) runningAtKill.add(id);
    replicaView.disconnect();
    const failedOverMs = Date.now() - killedAt;
    await until("a job to end on the new master", 60_000, async () => (await ended()) > endedAtKill);
    const resumedMs = Date.now() - killedAt;
    await deployment.start(old);
    await deployment.replicating(old);

    const refused = (await producing).reduce((sum, n) => sum + n, 0);
    const producedMs = Date.now() - killedAt;
    expect(acknowledged.size).toBe(JOBS);
    // a lost job never ends: past the deadline the figures below name it
    await until("every acknowledged job to end", 60_000 + JOBS * 20, async () => (await ended()) >= JOBS).catch(
      () => {},
    );

    const views = new Map<string, JobView | null>();
    for (const id of acknowledged.keys()) views.set(id, await queue.getJob(id));
    const lost = [...acknowledged.keys()].filter((id) => !["finished", "failed"].includes(views.get(id)?.status ?? ""));
    const wrong = [...acknowledged].filter(([id, fail]) => {
      const view = views.get(id);
      if (!view) return false;
      if (fail) return view.status !== "failed" || view.error?.message !== `planned failure of ${id}`;
      return view.status !== "finished" || (view.result as { id?: string } | null)?.id !== id;
    });
    // runs beyond what a job's attempts account for: a failing job runs once per attempt, RETRY.max + 1 times
    const runs = new Map<string, number>();
    for (const id of (await readFile(join(dir, "runs.log"), "utf8")).split("\n").filter(Boolean)) {
      runs.set(id, (runs.get(id) ?? 0) + 1);
    }
    const rerun = [...acknowledged].filter(([id, fail]) => (runs.get(id) ?? 0) > (fail ? RETRY.max + 1 : 1));
    const reruns = rerun.reduce((sum, [id, fail]) => sum + runs.get(id)! - (fail ? RETRY.max + 1 : 1), 0);
    const endedMs = Date.now() - killedAt;
    const restarted = started.filter((worker, i) => !worker.running || worker.pid !== pids[i]).length;

    console.log(
      `sentinel chaos: jobs=${JOBS} kills=1 lost=${lost.length} wrong=${wrong.length} ` +
        `reruns=${reruns} (of ${rerun.length} jobs, ${runningAtKill.size} running at the kill) ` +
        `enqueues refused and sent again=${refused} failover=${failedOverMs}ms resumed=${resumedMs}ms ` +
        `workers restarted=${restarted} (after the kill: produced in ${producedMs}ms, all ended in ${endedMs}ms)`,
    );
    if (lost.length > 0)
      console.log(
        "lost, of",
        await queue.counts(),
        lost.slice(0, 5).map((id) => views.get(id)),
      );
    expect(lost).toEqual([]);
    expect(wrong.map(([id]) => id)).toEqual([]);
    expect(rerun.map(([id]) => id).filter((id) => !runningAtKill.has(id))).toEqual([]);
    expect(restarted).toBe(0);
  });
});
