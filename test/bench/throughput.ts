// One measured processing round, the same for edgeq and BullMQ (process.ts
// and bullmq.ts each give it a Backend): the worker is idle and frozen
// (SIGSTOP); N jobs are enqueued; the worker is let go; the round ends when
// Redis holds N more finished jobs. The rate is N over the time from the
// first job's start to the last job's end, both as the worker itself wrote
// them into the job hashes, so neither worker startup nor the enqueue is in
// it. Redis's own counters, taken just before the worker is let go and just
// after the last job, give round trips and commands per job.
import type { Redis } from "ioredis";
import type { Child } from "./children.ts";
import type { Context } from "./context.ts";
import type { Contender, Figures, Scenario } from "./measure.ts";
import { scaleTraffic, snapshot, traffic } from "./server-stats.ts";
import { sleep } from "./util.ts";
import { startWorker, type WorkerSpec } from "./workers.ts";

const MAX_JOBS = 20_000;

/** What a processing round needs from the queue side, per system. */
export interface Backend {
  /** Enqueues n no-op jobs; their ids. */
  enqueue(n: number): Promise<string[]>;
  /** Jobs finished and failed so far, in one round trip of two ZCARDs (see `POLL_COST`). */
  outcomes(): Promise<{ done: number; failed: number }>;
  /** Earliest start and latest end among these jobs, epoch ms, as the worker recorded them. */
  span(ids: string[]): Promise<{ start: number; end: number }>;
  close(): Promise<void>;
}

/** What one `outcomes()` poll costs Redis, taken out of the worker's count. */
const POLL_COST = { reads: 1, calls: { zcard: 2 } };

export interface ThroughputSpec {
  id: string;
  scenario: Scenario;
  case: string;
  worker: WorkerSpec;
  backend: (ctx: Context) => Backend;
  warmupJobs: number;
  /** Fewest jobs in a measured round (a reused horse must be replaced within one). */
  minJobs?: number;
}

export function throughputContender(ctx: Context, spec: ThroughputSpec): Contender {
  let worker: Child | undefined;
  let backend: Backend | undefined;
  let jobs = 0;
  const contender: Contender = {
    id: spec.id,
    scenario: spec.scenario,
    case: spec.case,
    async start() {
      backend = spec.backend(ctx);
      worker = await startWorker(ctx.redis, spec.worker, spec.id);
    },
    pause: () => worker?.pause(),
    async stop() {
      await worker?.stop();
      await backend?.close();
    },
    async round(kind): Promise<Figures> {
      const n = kind === "warmup" ? spec.warmupJobs : jobs;
      const ids = await backend!.enqueue(n);
      const { done: base } = await backend!.outcomes();
      const before = await snapshot(ctx.redis.admin);
      worker!.resume();
      const polls = await waitForOutcomes(backend!, worker!, base + n);
      const after = await snapshot(ctx.redis.admin);
      const used = traffic(before, after, {
        reads: polls * POLL_COST.reads,
        calls: { zcard: polls * POLL_COST.calls.zcard },
      });
      const { start, end } = await backend!.span(ids);
      const rate = n / (Math.max(1, end - start) / 1000);
      if (kind === "warmup") {
        // size rounds to last about processMs at this rate
        const minJobs = Math.max(8, 2 * spec.worker.concurrency, spec.minJobs ?? 0);
        jobs = Math.min(MAX_JOBS, Math.max(minJobs, Math.round((rate * ctx.profile.processMs) / 1000)));
        contender.note = `${jobs} jobs per round`;
      }
      const perJob = scaleTraffic(used, n);
      contender.detail = { jobsPerRound: jobs, perJobCommands: perJob.perCommand };
      return {
        "jobs/s": rate,
        "round trips/job": perJob.roundTrips,
        "client cmds/job": perJob.clientCommands,
        "all cmds/job": perJob.allCommands,
      };
    },
  };
  return contender;
}

/** Polls until `target` jobs are done; the number of polls. Fails on a failed job, a dead or stuck worker. */
async function waitForOutcomes(backend: Backend, worker: Child, target: number): Promise<number> {
  let polls = 0;
  let last = -1;
  let lastProgress = Date.now();
  for (;;) {
    const { done, failed } = await backend.outcomes();
    polls++;
    if (failed > 0) throw new Error(`${worker.label}: ${failed} no-op jobs failed`);
    if (done >= target) return polls;
    if (!worker.running) throw new Error(`${worker.label} exited mid-round:\n${worker.tail}`);
    if (done !== last) [last, lastProgress] = [done, Date.now()];
    if (Date.now() - lastProgress > 30_000)
      throw new Error(`${worker.label}: stuck at ${done}/${target} jobs for 30 s`);
    await sleep(10);
  }
}

/** Earliest `startField` and latest `endField` over the jobs' hashes. */
export async function spanOf(
  admin: Redis,
  ids: string[],
  keyOf: (id: string) => string,
  startField: string,
  endField: string,
): Promise<{ start: number; end: number }> {
  let start = Infinity;
  let end = -Infinity;
  for (let i = 0; i < ids.length; i += 1000) {
    const pipeline = admin.pipeline();
    for (const id of ids.slice(i, i + 1000)) pipeline.hmget(keyOf(id), startField, endField);
    for (const [error, fields] of (await pipeline.exec())!) {
      if (error) throw error;
      const [s, e] = (fields as (string | null)[]).map(Number);
      start = Math.min(start, s!);
      end = Math.max(end, e!);
    }
  }
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new Error("jobs without start or end timestamps");
  return { start, end };
}
