// The producer API: the same in a Worker, a Node service or a script.
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import {
  IdempotencyConflictError,
  JobIdTakenError,
  JobNotFoundError,
  JobStateError,
  ValidationError,
} from "./errors.ts";
import {
  jobFromHash,
  jobIdSchema,
  newJob,
  parseOrThrow,
  queueNameSchema,
  viewOf,
  type JobId,
  type JobOptions,
  type JsonValue,
  type JobView,
  type NewJob,
} from "./job.ts";
import { Keys } from "./keys.ts";
import { scriptRunner, subscriber, type RedisClient } from "./redis.ts";
import type { ScriptRunner } from "./script.ts";
import * as scripts from "./scripts/index.ts";
import type { Attempt, Chunk, EnqueueReply, QueueSettings, SettingsPatch } from "./scripts/index.ts";
import { isTerminal, STATUSES, TERMINAL_STATUSES, type JobStatus, type TerminalStatus } from "./status.ts";
import {
  declarationsOf,
  type AnyTasks,
  type EnqueueArgs,
  type JobRequestOf,
  type ResultOf,
  type TaskDeclaration,
  type TaskMap,
  type TaskName,
} from "./tasks.ts";

export interface QueueOptions {
  /** An ioredis client (TCP) or an @upstash/redis client (REST). */
  redis: RedisClient;
  /** Key prefix of the deployment; keys are `{prefix}:…`. Default "edgeq". */
  prefix?: string;
  /** Largest accepted `args`, as bytes of JSON. Default 512 KiB. */
  maxArgsBytes?: number;
}

/** One job to enqueue; with a task module's types, its task name and args are checked (see shared/tasks.ts). */
export type JobRequest<T extends TaskMap = AnyTasks> = JobRequestOf<T>;

export interface Idempotency {
  key: string;
  /** A digest of the request; the same key with another fingerprint is refused. */
  fingerprint: string;
  ttlSec?: number;
}

/** The queues a caller may reach: its jobs may depend only on jobs in them (others are "not found"). */
export interface Reach {
  queues: string[];
}

export interface Submitted {
  /** false when an existing job was returned (same id, or an idempotent replay). */
  created: boolean;
  job: JobView;
}

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

export type StatusCounts = Record<JobStatus, number>;

/** A live worker, as its entry in Redis says: written by its heartbeat and by every step it takes. */
export interface WorkerInfo {
  name: string;
  queues: string[];
  /** idle | busy | warm (finishing its jobs) | cold | starting */
  state: string;
  /** The jobs it runs now. */
  currentJobs: string[];
  pid: number | null;
  host: string | null;
  concurrency: number | null;
  isolation: string | null;
  /** Jobs it finished, and jobs whose attempt failed, since it started. */
  processed: number;
  failed: number;
  startedAt: number | null;
  /** Its last heartbeat, epoch ms. */
  heartbeat: number;
}

export interface QueueInfo extends QueueSettings {
  name: string;
  counts: StatusCounts;
  /** Whether workers may claim from it (see Queue.pause). */
  paused: boolean;
  workers: WorkerInfo[];
  /** Schedules that enqueue to it (the first 50 by name): when each next fires and last fired. */
  schedules: { name: string; nextAt: number | null; lastAt: number | null }[];
  /** When asked for: counters kept since the queue was first used (for metrics). */
  stats?: QueueStats;
  /** For queues asked for by name: the tasks their workers declared in the last day (see shared/tasks.ts). */
  tasks?: TaskDeclaration[];
}

/** Counters the scripts that end jobs keep per queue, in Redis, for the whole fleet. */
export interface QueueStats {
  /** Jobs that ended, by how. */
  ended: Record<TerminalStatus, number>;
  /** Run times of jobs that ran: counts per bucket (upper bound in seconds, not cumulative), and their sum. */
  durations: { buckets: [le: number, count: number][]; sumMs: number };
}

export interface QueuesPage {
  queues: QueueInfo[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
  /** Callback deliveries waiting or in flight (the whole deployment's), and when the oldest was created. */
  outbox: { size: number; oldestAt: number | null };
}

/**
 * A queue, for producers and operators. With the type of a task module's
 * tasks (`Queue<typeof tasks>`, imported type-only), enqueue checks task
 * names and args at compile time and waitFor returns the task's result type.
 */
export class Queue<T extends TaskMap = AnyTasks> {
  readonly name: string;
  readonly keys: Keys;
  readonly #redis: ScriptRunner;
  /** The client as given: pub/sub needs more of it than scripts do. */
  readonly #client: RedisClient;
  readonly #maxArgsBytes: number;
  readonly #enqueues: Enqueues;

  constructor(name: string, options: QueueOptions) {
    this.name = parseOrThrow(queueNameSchema, name, "queue");
    this.keys = Keys.forPrefix(options.prefix ?? DEFAULTS.prefix);
    this.#redis = scriptRunner(options.redis);
    this.#client = options.redis;
    this.#maxArgsBytes = options.maxArgsBytes ?? DEFAULTS.maxArgsBytes;
    this.#enqueues = new Enqueues(this.#redis, this.keys);
  }

  async enqueue<K extends TaskName<T>>(task: K, ...rest: EnqueueArgs<T[K]>): Promise<JobView<ResultOf<T[K]>>> {
    const [args, options] = rest as [unknown, JobOptions | undefined];
    const [submitted] = await this.submit([{ task, args, options } as JobRequest<T>]);
    return submitted!.job as JobView<ResultOf<T[K]>>;
  }

  /** Enqueues every job or none, in one round trip. */
  async enqueueMany(jobs: JobRequest<T>[]): Promise<JobView<ResultOf<T[TaskName<T>]>>[]> {
    return (await this.submit(jobs)).map((s) => s.job as JobView<ResultOf<T[TaskName<T>]>>);
  }

  /**
   * Enqueue with the detail the HTTP API needs: whether each job was created,
   * and an optional idempotency key (it applies to a single job).
   */
  async submit(requests: JobRequest<T>[], idempotency?: Idempotency, reach?: Reach): Promise<Submitted[]> {
    if (requests.length === 0) throw new ValidationError([{ field: "jobs", message: "must hold at least one job" }]);
    const now = Date.now();
    const specs = requests.map((r, i) => {
      try {
        const { task, args, options } = r as { task: string; args?: unknown; options?: JobOptions };
        return newJob(this.name, task, args, options, { maxArgsBytes: this.#maxArgsBytes, now });
      } catch (error) {
        throw requests.length > 1 ? prefixIssues(error, `jobs.${i}`) : error;
      }
    });
    rejectDuplicateIds(specs);
    const jobs =
      reach || idempotency
        ? specs.map((spec) => ({
            ...spec,
            ...(reach && { dependencyQueues: reach.queues }),
            ...(idempotency && {
              idempotencyKey: idempotency.key,
              fingerprint: idempotency.fingerprint,
              idempotencyTtlSec: idempotency.ttlSec ?? DEFAULTS.idempotencyTtlSec,
            }),
          }))
        : specs;
    const reply = await this.#enqueues.add({ now, jobs });
    if (!reply.ok) {
      if (reply.error === "idempotency_conflict") throw new IdempotencyConflictError(reply.id);
      if (reply.error === "id_in_other_queue") throw new JobIdTakenError(reply.id);
      const field = requests.length > 1 ? `jobs.${reply.at}.options.dependsOn` : "options.dependsOn";
      throw new ValidationError([{ field, message: `no job with id "${reply.id}"` }]);
    }
    return reply.jobs.map((j, i) => {
      if (!j.created) return { created: false, job: viewOf(j.job) };
      const fields = specs[i]!.fields;
      // filled from empty: spreading j.set first made this object several times slower to build
      const hash: Record<string, unknown> = {};
      for (let f = 0; f < fields.length; f += 2) hash[fields[f]!] = fields[f + 1];
      return { created: true, job: viewOf(jobFromHash(Object.assign(hash, j.set))) };
    });
  }

  /** The job, or null when there is none (never enqueued, or its TTL ran out). */
  getJob<R = JsonValue>(id: JobId<R>): Promise<JobView<R> | null> {
    return getJob(this.#redis, this.keys, id) as Promise<JobView<R> | null>;
  }

  /**
   * Waits until the job is terminal (finished, failed, stopped, canceled) and
   * returns it; after `timeoutMs`, returns its latest state instead.
   */
  waitFor<R = JsonValue>(id: JobId<R>, options: WaitOptions = {}): Promise<JobView<R>> {
    return waitForJob(this.#client, this.keys, id, options) as Promise<JobView<R>>;
  }

  async counts(): Promise<StatusCounts> {
    return (await this.info()).counts;
  }

  /** Counts per status and the live workers listening on this queue. */
  async info(): Promise<QueueInfo> {
    const { queues } = await describeQueues(this.#redis, this.keys, { queues: [this.name] });
    return queues[0]!;
  }

  /**
   * Cancels a job that has not started (queued, scheduled, deferred); for a
   * started job, asks its worker to stop it. Returns the job afterwards.
   */
  async cancel(id: string): Promise<JobView> {
    parseOrThrow(jobIdSchema, id, "id");
    refuseUnless(await scripts.cancel.run(this.#redis, this.keys, { now: Date.now(), id }), id, "canceled");
    return (await this.getJob(id))!;
  }

  /** Puts a failed, stopped or canceled job back in its queue, as new. */
  async requeue(id: string): Promise<JobView> {
    parseOrThrow(jobIdSchema, id, "id");
    refuseUnless(await scripts.requeue.run(this.#redis, this.keys, { now: Date.now(), id }), id, "requeued");
    return (await this.getJob(id))!;
  }

  /**
   * A job's attempts, newest first: the one it is on (or ended with) and the
   * earlier ones kept (see DEFAULTS.attemptsKept). Null when there is no job.
   */
  async attempts(id: string): Promise<Attempt[] | null> {
    parseOrThrow(jobIdSchema, id, "id");
    const { job, earlier } = await scripts.getAttempts.run(this.#redis, this.keys, { id });
    if (!job) return null;
    if (job.attempts === 0) return earlier;
    const { attempts: attempt, status, workerName: worker, startedAt, endedAt, result, error } = job;
    return [{ attempt, status, worker, startedAt, endedAt, result, error }, ...earlier];
  }

  /**
   * A page of the queue's jobs in one status: queued in claim order,
   * scheduled by due time, started by lease, deferred by age, ended ones
   * newest first. Pass nextCursor back for the next page.
   */
  async list(status: JobStatus, options: { limit?: number; cursor?: string | null } = {}): Promise<JobPage> {
    const { limit = 50, cursor } = parseOrThrow(listSchema, { status, ...options });
    const { jobs, next } = await scripts.list.run(this.#redis, this.keys, {
      now: Date.now(),
      queue: this.name,
      status,
      limit,
      cursor: cursor ? decodeCursor(cursor) : undefined,
    });
    return { jobs: jobs.map(viewOf), nextCursor: next && encodeCursor(next) };
  }

  /** Jobs finished and failed in each of the last `minutes` minutes (at most 120), oldest first. */
  async throughput(minutes = 60): Promise<{ since: number; finished: number[]; failed: number[] }> {
    const now = Date.now();
    const counts = await scripts.minutes.run(this.#redis, this.keys, { now, queues: [this.name], minutes });
    const { finished = [], failed = [] } = counts[this.name] ?? {};
    return { since: (Math.floor(now / 60_000) - minutes + 1) * 60_000, finished, failed };
  }

  /** No worker claims from a paused queue, across the fleet at once; it still takes jobs. */
  async pause(): Promise<QueueSettings> {
    return this.configure({ paused: true });
  }

  async resume(): Promise<QueueSettings> {
    return this.configure({ paused: null });
  }

  /**
   * Changes the queue's settings, which every claim across the fleet obeys
   * at once: `limit` (at most max jobs started in any window of perMs),
   * `concurrency` (at most N started at once), `paused`. null removes one.
   */
  async configure(settings: SettingsPatch): Promise<QueueSettings> {
    const patch = parseOrThrow(settingsSchema, settings);
    return scripts.configureQueue.run(this.#redis, this.keys, { queue: this.name, settings: patch });
  }

  /** Puts every failed (or stopped, or canceled) job back in the queue, a bounded chunk per call. */
  async requeueAll(status: "failed" | "stopped" | "canceled" = "failed", options: ChunkOptions = {}): Promise<Chunk> {
    const call = () => scripts.requeueAll.run(this.#redis, this.keys, { now: Date.now(), queue: this.name, status });
    return inChunks(call, options);
  }

  /** Cancels every queued job, a bounded chunk per call. */
  async empty(options: ChunkOptions = {}): Promise<Chunk> {
    return inChunks(() => scripts.empty.run(this.#redis, this.keys, { now: Date.now(), queue: this.name }), options);
  }

  /**
   * Deletes the jobs in a terminal status that ended more than `olderThanMs` ago, a bounded chunk per call. The
   * jobs it keeps stay in place, so a call cut short by `chunks` answers the `cursor` that the next call starts from.
   */
  async clean(
    status: TerminalStatus,
    olderThanMs: number,
    options: ChunkOptions & { cursor?: number | null } = {},
  ): Promise<Chunk> {
    parseOrThrow(cleanSchema, { status, olderThanMs, cursor: options.cursor });
    const before = Date.now() - olderThanMs;
    let cursor = options.cursor ?? undefined;
    const chunk = await inChunks(async () => {
      const done = await scripts.clean.run(this.#redis, this.keys, { queue: this.name, status, before, cursor });
      cursor = done.cursor ?? undefined;
      return done;
    }, options);
    return { ...chunk, cursor: chunk.more ? (cursor ?? null) : null };
  }
}

/**
 * Enqueue calls made in the same moment (before the event loop moves on) go
 * to Redis in one script call, each still all or none on its own and taken
 * in the order made, as if sent one by one: a producer with several in
 * flight pays one round trip, and Redis one script run, for all of them.
 * With no call in flight they go as two, so that Redis runs one while the
 * producer takes the answer of the other (one call for all would have each
 * wait for the other). The groups of a call hold a bounded number of jobs
 * together; a larger group goes alone.
 */
class Enqueues {
  #waiting: EnqueueCall[] = [];
  #inFlight = 0;

  constructor(
    readonly redis: ScriptRunner,
    readonly keys: Keys,
  ) {}

  add(group: EnqueueGroup): Promise<EnqueueReply> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) queueMicrotask(() => this.#send());
      this.#waiting.push({ group, resolve, reject });
    });
  }

  #send(): void {
    const half = this.#inFlight === 0 && this.#waiting.length > 1 ? Math.ceil(this.#waiting.length / 2) : Infinity;
    while (this.#waiting.length > 0) {
      let taken = 1;
      for (let jobs = this.#waiting[0]!.group.jobs.length; taken < Math.min(half, this.#waiting.length); taken++) {
        jobs += this.#waiting[taken]!.group.jobs.length;
        if (jobs > DEFAULTS.scriptBatch) break;
      }
      void this.#call(this.#waiting.splice(0, taken));
    }
  }

  async #call(calls: EnqueueCall[]): Promise<void> {
    this.#inFlight++;
    let replies: EnqueueReply[];
    try {
      replies = await scripts.enqueue.run(this.redis, this.keys, { groups: calls.map((call) => call.group) });
    } catch (error) {
      for (const call of calls) call.reject(error);
      return;
    } finally {
      this.#inFlight--;
    }
    for (const [i, call] of calls.entries()) call.resolve(replies[i]!);
  }
}

type EnqueueGroup = { now: number; jobs: NewJob[] };
type EnqueueCall = { group: EnqueueGroup; resolve: (reply: EnqueueReply) => void; reject: (error: unknown) => void };

export interface JobPage {
  jobs: JobView[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

export interface ChunkOptions {
  /** Stop after this many script calls and say whether more remains (an HTTP request has a budget). */
  chunks?: number;
}

/** Calls a bounded bulk script until it is done, or the caller's budget of calls is spent. */
async function inChunks(
  call: () => Promise<Chunk>,
  { chunks = Number.POSITIVE_INFINITY }: ChunkOptions,
): Promise<Chunk> {
  let count = 0;
  for (let i = 0; i < chunks; i++) {
    const chunk = await call();
    count += chunk.count;
    if (!chunk.more) return { count, more: false };
  }
  return { count, more: true };
}

const listSchema = z.object({
  status: z.enum(STATUSES),
  limit: z.number().int().min(1).max(200).optional(),
  cursor: z.string().max(200).nullish(),
});

const settingsSchema = z.strictObject({
  paused: z.literal(true).nullish(),
  limit: z
    .strictObject({
      max: z.number().int().min(1).max(1_000_000),
      perMs: z
        .number()
        .int()
        .min(1)
        .max(24 * 3600 * 1000),
    })
    .nullish(),
  concurrency: z.number().int().min(1).max(100_000).nullish(),
});

const cleanSchema = z.object({
  status: z.enum(TERMINAL_STATUSES),
  olderThanMs: z.number().int().min(0),
  cursor: z.number().int().min(0).nullish(),
});

/** Cursors are opaque to callers: base64url of the script's own cursor. */
function encodeCursor(cursor: scripts.ListCursor): string {
  return btoa(JSON.stringify([cursor.score, cursor.count]))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeCursor(text: string): scripts.ListCursor {
  try {
    const [score, count] = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/"))) as [unknown, unknown];
    const fine = typeof count === "number" && Number.isInteger(count) && count >= 0 && count <= 1_000_000;
    if (typeof score === "string" && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(score) && fine) {
      return { score, count: count as number };
    }
  } catch {
    // refused below
  }
  throw new ValidationError([{ field: "cursor", message: "is not a cursor this listing gave out" }]);
}

/** A job by id, whatever its queue; null when there is none. */
export async function getJob(redis: RedisClient, keys: Keys, id: string): Promise<JobView | null> {
  parseOrThrow(jobIdSchema, id, "id");
  const job = await scripts.getJob.run(scriptRunner(redis), keys, { id });
  return job && viewOf(job);
}

/**
 * Counts, settings and workers for the queues named, or a page (by name) of
 * every queue in use; and the callback outbox.
 */
export async function describeQueues(
  redis: RedisClient,
  keys: Keys,
  which: scripts.QueueSelection = {},
  { stats = false }: { stats?: boolean } = {},
): Promise<QueuesPage> {
  const reply = await scripts.counts.run(scriptRunner(redis), keys, { now: Date.now(), stats, ...which });
  return {
    queues: reply.queues.map((q) => ({
      name: q.name,
      counts: q.counts,
      paused: q.settings.paused === true,
      ...(q.settings.limit && { limit: q.settings.limit }),
      ...(q.settings.concurrency && { concurrency: q.settings.concurrency }),
      workers: q.workers.map(workerInfo),
      schedules: q.schedules,
      ...(q.stats && { stats: statsOf(q.stats) }),
      ...(q.tasks && { tasks: declarationsOf(q.tasks) }),
    })),
    nextCursor: reply.nextCursor,
    outbox: reply.outbox,
  };
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

function statsOf(raw: Record<string, number>): QueueStats {
  const ended = Object.fromEntries(TERMINAL_STATUSES.map((s) => [s, raw[s] ?? 0])) as Record<TerminalStatus, number>;
  const buckets = Object.entries(raw)
    .filter(([field]) => field.startsWith("le:"))
    .map(([field, n]): [number, number] => [field === "le:+Inf" ? Number.POSITIVE_INFINITY : Number(field.slice(3)), n])
    .sort(([a], [b]) => a - b);
  return { ended, durations: { buckets, sumMs: raw.durationMs ?? 0 } };
}

/** A worker entry's fields are strings in Redis: typed here, once, for every view. */
function workerInfo(w: Record<string, unknown>): WorkerInfo {
  const text = (v: unknown) => (v === undefined || v === null || v === "" ? null : String(v));
  const count = (v: unknown) => (text(v) === null ? null : Number(v));
  const list = (v: unknown) => (text(v) ?? "").split(",").filter(Boolean);
  return {
    name: String(w.name),
    queues: list(w.queues),
    state: text(w.state) ?? "unknown",
    currentJobs: list(w.currentJobs),
    pid: count(w.pid),
    host: text(w.host),
    concurrency: count(w.concurrency),
    isolation: text(w.isolation),
    processed: count(w.processed) ?? 0,
    failed: count(w.failed) ?? 0,
    startedAt: count(w.startedAt),
    heartbeat: Number(w.heartbeat),
  };
}

function refuseUnless(reply: scripts.MoveReply, id: string, action: string): void {
  if (reply.ok) return;
  if (reply.error === "not_found") throw new JobNotFoundError(id);
  throw new JobStateError(id, reply.status!, action);
}

function rejectDuplicateIds(specs: NewJob[]): void {
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    if (seen.has(spec.id)) {
      throw new ValidationError([
        { field: `jobs.${i}.options.id`, message: `"${spec.id}" appears twice in the batch` },
      ]);
    }
    seen.add(spec.id);
  });
}

function prefixIssues(error: unknown, prefix: string): unknown {
  if (!(error instanceof ValidationError)) return error;
  return new ValidationError(error.issues.map((i) => ({ ...i, field: `${prefix}.${i.field}` })));
}
