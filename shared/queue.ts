// The producer API: the same in a Worker, a Node service or a script.
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import {
  IdempotencyConflictError,
  JobIdTakenError,
  JobNotFoundError,
  JobStateError,
  parseOrThrow,
  prefixIssues,
  ValidationError,
} from "./errors.ts";
import { jobFromHash, newJob, viewOf, type JobId, type JobView, type NewJob } from "./job.ts";
import { jobIdSchema, queueNameSchema, type JsonValue } from "./names.ts";
import type { JobOptions } from "./options.ts";
import { Enqueues, type Durability } from "./enqueues.ts";
import {
  concurrencySchema,
  configureGroup,
  defaultPolicySchema,
  limitSchema,
  listGroups,
  parsePolicy,
  type GroupPolicyView,
  type GroupsListing,
} from "./group.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { sendEvent, type EventOptions, type EventSent } from "./event.ts";
import { Keys } from "./keys.ts";
import { readLog, type LogPage } from "./log.ts";
import { getJob, waitForJob, type WaitOptions } from "./lookup.ts";
import { followQueueEvents, type QueueEventItem, type QueueEventsOptions } from "./queue-events.ts";
import { describeQueues, type QueueInfo, type StatusCounts } from "./queue-info.ts";
import { scriptRunner, type RedisClient } from "./redis.ts";
import type { ScriptRunner } from "./script.ts";
import * as scripts from "./scripts/index.ts";
import type { Attempt, Chunk, GroupPolicyPatch, JobLog, QueueSettings, SettingsPatch } from "./scripts/index.ts";
import { STATUSES, TERMINAL_STATUSES, type JobStatus, type TerminalStatus } from "./status.ts";
import { activeTraceContext, traceFields } from "./trace.ts";
import type { AnyTasks, EnqueueArgs, JobRequestOf, ResultOf, TaskMap, TaskName } from "./tasks.ts";

export interface QueueOptions extends Durability {
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
  /** false when an existing job was returned (same id, an idempotent replay, a debounce or a dedupe key). */
  created: boolean;
  job: JobView;
  /** The call was gathered into a waiting job with its debounce key: its args replaced, its start moved. */
  debounced?: true;
  /** The call was answered with the job its dedupe key made within the key's window. */
  deduplicated?: true;
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
    this.#enqueues = new Enqueues(this.#redis, this.keys, options.waitReplicas);
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
   * Enqueue with the detail the HTTP API needs: whether each job was created, an optional idempotency key (for a
   * single job), and `trace` (an HTTP request's; by default the caller's active OpenTelemetry context) to keep.
   */
  async submit(requests: JobRequest<T>[], idempotency?: Idempotency, reach?: Reach, trace = activeTraceContext()) {
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
    if (trace) for (const spec of specs) spec.fields.push(...traceFields(trace));
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
      if (!j.created) {
        return {
          created: false,
          job: viewOf(j.job),
          ...(j.debounced && { debounced: true as const }),
          ...(j.deduplicated && { deduplicated: true as const }),
        };
      }
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
    return [{ attempt, status, worker, startedAt, endedAt, result, error, lost: scripts.lostBy(error) }, ...earlier];
  }

  /** A page of a job's log lines (ctx.log), oldest first, numbered from its first; null when there is no job. */
  logs(id: string, page: LogPage = {}): Promise<JobLog | null> {
    return readLog(this.#redis, this.keys, id, page);
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
   * `concurrency` (at most N started at once), `paused`, and `groups`, the
   * policy of each group unless it has its own (`{ concurrency?, limit? }`,
   * for each group separately), and `keep` (`{ finished?, failed? }`: only
   * the latest N jobs of that status are kept). null removes one. Numbers out of range are
   * an InvalidPolicyError (HTTP 422).
   */
  async configure(settings: SettingsPatch): Promise<QueueSettings> {
    const patch = parsePolicy(settingsSchema, settings);
    return scripts.configureQueue.run(this.#redis, this.keys, { queue: this.name, settings: patch });
  }

  /**
   * Gives one group of the queue its own policy over the queue's default (`concurrency`, `limit`), or pauses it
   * (`paused: true`) while the queue's other groups go on. null removes a field.
   */
  configureGroup(group: string, policy: GroupPolicyPatch): Promise<GroupPolicyView> {
    return configureGroup(this.#redis, this.keys, this.name, group, policy);
  }

  /** A page of the queue's groups, most loaded first, with their counts and policies. */
  groups(options: { limit?: number; cursor?: string | null } = {}): Promise<GroupsListing> {
    return listGroups(this.#redis, this.keys, this.name, options);
  }

  /** Sends an event to the queue: its jobs that wait for it (ctx.waitForEvent) go on with its data. */
  sendEvent(event: string, options: EventOptions = {}): Promise<EventSent> {
    return sendEvent(this.#redis, this.keys, this.name, event, options);
  }

  /**
   * The queue's job transitions as they happen, after `after` (an event's id) or from now: a blocking read over
   * TCP, polls over REST. Resumable within the stream's window; a gap says events may have been trimmed unseen.
   */
  events(options: QueueEventsOptions = {}): AsyncGenerator<QueueEventItem> {
    return followQueueEvents(this.#client, this.keys, this.name, options);
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
  limit: limitSchema.nullish(),
  concurrency: concurrencySchema.nullish(),
  groups: defaultPolicySchema.nullish(),
  keep: z
    .strictObject({
      finished: z.number().int().min(1).max(1_000_000).optional(),
      failed: z.number().int().min(1).max(1_000_000).optional(),
    })
    .nullish(),
});

const cleanSchema = z.object({
  status: z.enum(TERMINAL_STATUSES),
  olderThanMs: z.number().int().min(0),
  cursor: z.number().int().min(0).nullish(),
});

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
