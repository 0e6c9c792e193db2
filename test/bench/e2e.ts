// End to end: one job at a time, enqueued over TCP to an idle worker, timed
// until Queue.waitFor returns it finished: what a producer using the public
// API sees. Between jobs the worker is left alone long enough to be idle
// again (for fork-per-job: its spare horse has booted).
//
// Beside it, what one `GET /v1/jobs/:id?wait=N` costs Redis when the job ends
// during the wait, through the edge app and the REST gateway: the request's
// commands, counted by Redis (INFO commandstats), the job claimed and
// completed from the bench as a worker would.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { Keys, Queue, isTerminal } from "../../shared/index.ts";
import { scriptRunner } from "../../shared/redis.ts";
import * as scripts from "../../shared/scripts/index.ts";
import type { Child } from "./children.ts";
import { PREFIX, type Context } from "./context.ts";
import { startEdge, startGateway } from "./enqueue.ts";
import { percentile, type Contender, type Plan } from "./measure.ts";
import { isClientOnly, snapshot, traffic, type Traffic } from "./server-stats.ts";
import { sleep } from "./util.ts";
import { startWorker, type WorkerSpec } from "./workers.ts";

const MODES = {
  inline: { label: "inline", isolation: "inline", gapMs: 20 },
  fork: { label: "fork-per-job", isolation: "process", gapMs: 300 },
} as const;

export function e2ePlan(ctx: Context): Plan {
  return { groups: [[e2eContender(ctx, "inline")], [e2eContender(ctx, "fork")], [waitContender(ctx)]] };
}

function e2eContender(ctx: Context, mode: keyof typeof MODES): Contender {
  const m = MODES[mode];
  const queueName = `e2e-${mode}`;
  const spec: WorkerSpec = {
    system: "edgeq",
    queue: queueName,
    concurrency: 1,
    isolation: m.isolation,
    horseMaxJobs: 1,
  };
  const jobs = mode === "inline" ? ctx.profile.e2eInlineJobs : ctx.profile.e2eForkJobs;
  let worker: Child | undefined;
  let client: Redis | undefined;
  let queue: Queue | undefined;
  return {
    id: `e2e.${mode}`,
    scenario: "4. End to end",
    case: `edgeq ${m.label}, c=1, enqueue over TCP → Queue.waitFor returns it finished`,
    note: `${jobs} jobs per round, one at a time, ${m.gapMs} ms apart`,
    async start() {
      client = new Redis(ctx.redis.url);
      queue = new Queue(queueName, { redis: client, prefix: PREFIX });
      worker = await startWorker(ctx.redis, spec, `e2e-${mode}`);
    },
    pause: () => worker?.pause(),
    async stop() {
      await worker?.stop();
      client?.disconnect();
    },
    async round(kind) {
      worker!.resume();
      const waited: number[] = [];
      const count = kind === "warmup" ? Math.min(jobs, 5) : jobs;
      for (let i = 0; i < count; i++) {
        await sleep(m.gapMs);
        const t0 = performance.now();
        const { id } = await queue!.enqueue("noop", {});
        const job = await queue!.waitFor(id, { timeoutMs: 30_000 });
        if (!isTerminal(job.status)) throw new Error(`job ${id} still ${job.status} after 30 s`);
        waited.push(performance.now() - t0);
      }
      return { "p50 ms": percentile(waited, 50), "p99 ms": percentile(waited, 99) };
    },
  };
}

/** Commands the gateway sends on a connection it opens for a subscription, before the request's own. */
const HANDSHAKE = new Set(["hello", "auth", "select", "client|setname", "client|setinfo"]);

/** `GET /v1/jobs/:id?wait=N` through the edge and the gateway, the job ending while the request waits. */
function waitContender(ctx: Context): Contender {
  const token = randomBytes(16).toString("hex");
  const apiKey = randomBytes(24).toString("hex");
  const hosts: Child[] = [];
  let edgeUrl = "";
  let client: Redis | undefined;
  let queue: Queue | undefined;
  const keys = Keys.forPrefix(PREFIX);
  const queueName = "wait";
  const contender: Contender = {
    id: "e2e.wait",
    scenario: "4. End to end",
    case: "GET /v1/jobs/:id?wait=10 over REST (edge app → gateway), the job ending during the wait",
    async start() {
      const gateway = await startGateway(ctx, token);
      hosts.push(gateway.child);
      const edge = await startEdge(ctx, gateway.url, token, apiKey);
      hosts.push(edge.child);
      edgeUrl = edge.url;
      client = new Redis(ctx.redis.url);
      queue = new Queue(queueName, { redis: client, prefix: PREFIX });
    },
    async stop() {
      for (const host of hosts) await host.stop();
      client?.disconnect();
    },
    async round(kind) {
      const requests = kind === "warmup" ? 2 : ctx.profile.e2eForkJobs;
      const counts: Traffic[] = [];
      for (let i = 0; i < requests; i++) counts.push(await oneWait(ctx, edgeUrl, apiKey, queue!, keys));
      const perRequest = (pick: (t: Traffic) => number) => counts.reduce((sum, t) => sum + pick(t), 0) / requests;
      const handshake = (t: Traffic) =>
        Object.entries(t.perCommand)
          .filter(([command]) => HANDSHAKE.has(command))
          .reduce((sum, [, n]) => sum + n, 0);
      contender.note = `${requests} requests per round; per request: ${describeRequest(counts.at(-1)!)}`;
      return {
        "cmds/request": perRequest((t) => t.clientCommands - handshake(t)),
        "connection handshake cmds/request": perRequest(handshake),
        "all cmds/request": perRequest((t) => t.allCommands),
      };
    },
  };
  return contender;
}

/** One request's commands: the bench's own (polls, the worker's two script calls and theirs) taken out. */
async function oneWait(ctx: Context, edgeUrl: string, apiKey: string, queue: Queue, keys: Keys) {
  const { admin } = ctx.redis;
  const { id } = await queue.enqueue("noop", {});
  const channel = keys.events(id);
  const subscribers = async () => ((await admin.call("PUBSUB", "NUMSUB", channel)) as [string, number])[1];
  const worker = new Redis(ctx.redis.url);
  const runner = scriptRunner(worker);
  try {
    // the worker's scripts are cached before the count starts, as a running worker's are
    const warm = await scripts.claim.run(runner, keys, { now: Date.now(), worker: "wait", next: wants(0) });
    if (warm.jobs.length) throw new Error("claimed nothing, and got a job");
    const before = await snapshot(admin);
    const answer = fetch(`${edgeUrl}/v1/jobs/${id}?wait=10`, { headers: { authorization: `Bearer ${apiKey}` } });
    let polls = 1;
    while ((await subscribers()) === 0) {
      polls++;
      await sleep(2);
    }
    // past its first read: the job ends during the wait
    await sleep(50);
    const now = Date.now();
    const claimed = await scripts.claim.run(runner, keys, { now, worker: "wait", next: wants(1) });
    if (claimed.jobs[0]?.id !== id) throw new Error(`?wait: claimed ${claimed.jobs[0]?.id} instead of ${id}`);
    const done = { now, worker: "wait", jobs: [{ id, claim: 1, result: "null" }] };
    const [workerCalls] = await Promise.all([scripts.complete.run(runner, keys, done), answer]);
    const response = await answer;
    const job = (await response.json()) as { status?: string };
    if (response.status !== 200 || job.status !== "finished") {
      throw new Error(`?wait answered ${response.status} ${JSON.stringify(job).slice(0, 200)}`);
    }
    if (!workerCalls.reported[0]?.ok) throw new Error("?wait: the bench's worker lost the job");
    // the gateway closes the subscription's connection once the request is answered
    for (let n = await subscribers(); n > 0; n = await subscribers()) {
      polls++;
      await sleep(2);
    }
    polls++;
    const after = await snapshot(admin);
    const own = traffic(before, after, { reads: 0, calls: { "pubsub|numsub": polls, evalsha: 2 } });
    // the worker's two scripts ran commands inside too: count those once, from a call of each alone
    return { ...own, allCommands: own.allCommands - (await innerCommands(ctx, queue, keys, runner)) };
  } finally {
    worker.disconnect();
  }
}

const wants = (max: number) => ({ leaseMs: 30_000, max, queues: ["wait"] });

/** Commands run inside one claim and one complete of a job with nobody listening, as the bench's worker ran them. */
async function innerCommands(ctx: Context, queue: Queue, keys: Keys, runner: ReturnType<typeof scriptRunner>) {
  const { id } = await queue.enqueue("noop", {});
  const before = await snapshot(ctx.redis.admin);
  const now = Date.now();
  await scripts.claim.run(runner, keys, { now, worker: "wait", next: wants(1) });
  await scripts.complete.run(runner, keys, { now, worker: "wait", jobs: [{ id, claim: 1, result: "null" }] });
  const after = await snapshot(ctx.redis.admin);
  return traffic(before, after, { reads: 0, calls: { evalsha: 2 } }).allCommands;
}

/** "subscribe 1, evalsha 1", the commands one request sent. */
function describeRequest(t: Traffic): string {
  return Object.entries(t.perCommand)
    .filter(([command]) => isClientOnly(command))
    .map(([command, n]) => `${command} ${n}`)
    .join(", ");
}
