// A job found by its id alone, whatever its queue: read now (getJob), or
// waited for until it ends (waitForJob). Queue's methods of the same names
// and the edge's routes by id both come here.
import { JobNotFoundError } from "./errors.ts";
import { parseOrThrow } from "./errors.ts";
import { jobFromHash, viewOf, type JobView } from "./job.ts";
import { jobIdSchema } from "./names.ts";
import type { Keys } from "./keys.ts";
import { scriptRunner, subscriber, type RedisClient } from "./redis.ts";
import * as scripts from "./scripts/index.ts";
import { isTerminal, TERMINAL_STATUSES } from "./status.ts";

export interface WaitOptions {
  /** Give up after this long and return the latest state. Default 30 s. */
  timeoutMs?: number;
  /** Should pub/sub be unavailable: the first pause between polls, each next 1.5 times longer. Default 5 ms. */
  pollMs?: number;
  /** Should pub/sub be unavailable: the longest pause between polls. Default 500 ms. */
  maxPollMs?: number;
  /** Stop waiting (returning the latest state) when it aborts. */
  signal?: AbortSignal;
}

/** A job by id, whatever its queue; null when there is none. */
export async function getJob(redis: RedisClient, keys: Keys, id: string): Promise<JobView | null> {
  parseOrThrow(jobIdSchema, id, "id");
  const job = await scripts.getJob.run(scriptRunner(redis), keys, { id });
  return job && viewOf(job);
}

/**
 * Waits for a job to end without polling: it subscribes to the job's channel
 * (the scripts publish every status change), reads the job once, and returns
 * the job its ending was published with (to_terminal.lua); should the ending
 * come bare, it reads the job again. Over ioredis the read goes with the
 * SUBSCRIBE, in one round trip. When the job ends during the wait that is two
 * Redis commands, over TCP and over REST alike. `visible` lets a caller
 * refuse a job it may not show (it is then "not found"). Should the
 * subscription fail, it polls with backoff.
 */
export async function waitForJob(
  redis: RedisClient,
  keys: Keys,
  id: string,
  options: WaitOptions & { visible?: (job: JobView) => boolean } = {},
): Promise<JobView> {
  parseOrThrow(jobIdSchema, id, "id");
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let ended: (job: JobView | null) => void = () => {};
  let ending = new Promise<JobView | null>((resolve) => {
    ended = resolve;
  });
  const subscription = subscriber(redis)(keys.events(id), (message) => {
    const job = endingOf(message);
    if (job !== undefined) ended(job);
  });
  try {
    // undefined: not read yet (a RESP2 connection refuses the read while subscribed)
    let read = subscription.runner && (await getJob(subscription.runner, keys, id).catch(() => undefined));
    const subscribed = await within(
      subscription.ready.then(() => true),
      deadline - Date.now(),
      options.signal,
    );
    let pause = options.pollMs ?? 5;
    for (;;) {
      const job = read === undefined ? await getJob(redis, keys, id) : read;
      read = undefined;
      if (!job || (options.visible && !options.visible(job))) throw new JobNotFoundError(id);
      const left = deadline - Date.now();
      if (isTerminal(job.status) || left <= 0 || options.signal?.aborted) return job;
      if (subscribed) {
        read = (await within(ending, left, options.signal)) ?? undefined;
        ending = new Promise<JobView | null>((resolve) => {
          ended = resolve;
        });
      } else {
        await within(new Promise((resolve) => setTimeout(resolve, Math.min(pause, left))), left, options.signal);
        pause = Math.min(pause * 1.5, options.maxPollMs ?? 500);
      }
    }
  } finally {
    // the caller has its answer: the unsubscribe's round trip is not waited for
    subscription.close().catch(() => {});
  }
}

/**
 * What a message on a job's channel says of its ending: the job it was
 * published with, null for a bare terminal status (the job must be read), or
 * undefined for any other message (a status on the way, progress).
 */
function endingOf(message: string): JobView | null | undefined {
  const space = message.indexOf(" ");
  const status = space < 0 ? message : message.slice(0, space);
  if (!(TERMINAL_STATUSES as readonly string[]).includes(status)) return undefined;
  if (space < 0) return null;
  try {
    return viewOf(jobFromHash(JSON.parse(message.slice(space + 1)) as Record<string, unknown>));
  } catch {
    return null;
  }
}

/** Settles with the promise, or with undefined after `ms` or when the signal aborts (whichever comes first). */
function within<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve) => {
    const done = (value?: T) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
      resolve(value);
    };
    const aborted = () => done();
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", aborted, { once: true });
    promise.then(done, () => done());
  });
}
