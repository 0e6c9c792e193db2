// A worker's steps for tests that drive the Lua scripts directly
// (test/scripts-*.test.ts, test/queue-*.test.ts): claim, complete and fail
// with an explicit `now`, through the file's runner (./connection.ts), and
// what the stored job and a registry's scores then say.
import { Queue, type QueueOptions } from "../../shared/index.ts";
import type { Job } from "../../shared/job.ts";
import type { Keys } from "../../shared/keys.ts";
import type { ScriptRunner } from "../../shared/script.ts";
import * as scripts from "../../shared/scripts/index.ts";
import { redis, runner } from "./connection.ts";
import { freshQueues } from "./prefixes.ts";

/** The lease a claim takes unless told otherwise. */
export const LEASE = 30_000;

/** A queue of the test's own at each call, and other queues on its prefix by name. */
export function scriptQueues(label: string) {
  const freshQueue = freshQueues(label, () => redis);
  return (options: Partial<QueueOptions> = {}) => {
    const own = freshQueue("default", options);
    const named = (name: string) => new Queue(name, { redis, prefix: own.prefix, ...options });
    return { ...own, named };
  };
}

export async function claimJobs(
  keys: Keys,
  now: number,
  {
    queues = ["default"],
    max = 100,
    worker = "w1",
    lease = LEASE,
    by = runner,
  }: { queues?: string[]; max?: number; worker?: string; lease?: number; by?: ScriptRunner } = {},
): Promise<{ jobs: Job[]; nextDueAt: number | null }> {
  const { jobs, nextDueAt } = await scripts.claim.run(by, keys, {
    now: now,
    worker: worker,
    next: { leaseMs: lease, max: max, queues: queues },
  });
  return { jobs, nextDueAt };
}

export async function claimIds(
  keys: Keys,
  now: number,
  options: Parameters<typeof claimJobs>[2] = {},
): Promise<string[]> {
  return (await claimJobs(keys, now, options)).jobs.map((j) => j.id);
}

/** Every job waiting in the queue, claimed by `worker` through `r`. */
export async function claimAll(queue: Queue, worker = "w1", now = Date.now(), r: ScriptRunner = runner) {
  return claimIds(queue.keys, now, { queues: [queue.name], worker, by: r });
}

/** A started job as its worker holds it: its id and the claim (lease token) it was taken by, as stored now. */
export async function held(keys: Keys, id: string): Promise<scripts.Held> {
  return { id, claim: Number(await redis.hget(keys.job(id), "claims")) };
}

export async function completeJob(keys: Keys, now: number, id: string, worker = "w1", result: unknown = null) {
  const step = await scripts.complete.run(runner, keys, {
    now,
    worker,
    jobs: [{ ...(await held(keys, id)), result: JSON.stringify(result) }],
  });
  return step.reported[0]!;
}

export async function failJob(
  keys: Keys,
  now: number,
  id: string,
  { worker = "w1", message = "boom", retryable = true } = {},
) {
  const step = await scripts.fail.run(runner, keys, {
    now,
    worker,
    jobs: [{ ...(await held(keys, id)), error: { name: "Error", message }, retryable }],
  });
  return step.reported[0]!;
}

/** What a worker reports of a job it holds: a result, or an error (retryable unless said otherwise). */
export async function report(
  keys: Keys,
  id: string,
  outcome: { result: unknown } | { error: { name: string; message: string }; retryable?: boolean },
  { worker = "w1", r = runner }: { worker?: string; r?: ScriptRunner } = {},
): Promise<{ ok: boolean; status: string | null }> {
  const base = { now: Date.now(), worker };
  const holder = await held(keys, id);
  const step =
    "result" in outcome
      ? await scripts.complete.run(r, keys, { ...base, jobs: [{ ...holder, result: JSON.stringify(outcome.result) }] })
      : await scripts.fail.run(r, keys, {
          ...base,
          jobs: [{ ...holder, error: outcome.error, retryable: outcome.retryable ?? true }],
        });
  return step.reported[0]!;
}

/** The whole stored job, as a worker reads it. */
export async function stored(keys: Keys, id: string): Promise<Job | null> {
  return scripts.getJob.run(runner, keys, { id });
}

export async function score(key: string, member: string): Promise<number | null> {
  const value = await redis.zscore(key, member);
  return value === null ? null : Number(value);
}
