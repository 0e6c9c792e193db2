// A job the worker runs: its abort signal (and, inline, the host its task runs
// in), its task's progress on the way to Redis, why the worker ended it early
// if it did, its log lines, and the one timer that watches every running
// job's timeout.
import type { Logger } from "pino";
import { DEFAULTS } from "../shared/defaults.ts";
import { ValidationError, type Job, type Keys } from "../shared/index.ts";
import { newJob } from "../shared/job.ts";
import type { Call } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import type { Held, ProgressUpdate } from "../shared/scripts/index.ts";
import type { ScriptConnection } from "./connection.ts";
import { JobAbort } from "./horse/abort.ts";
import type { Horse } from "./horse/horse.ts";
import { RunSpan } from "./span.ts";
import type { Answer, Ask, Outcome, TaskHost } from "./task.ts";

/** Why the worker ends a job early. */
export type Interruption = "timeout" | "stop" | "lost" | "shutdown";

/** What ends a running job early: the executor it runs in. */
export interface Interrupter {
  interrupt(running: Running, why: Interruption): void;
}

/** What a worker's running jobs share: one per worker, rather than closures for every job. */
export interface RunningContext {
  log: Logger;
  keys: Keys;
  /** The worker's name, which its progress writes are checked against. */
  worker: string;
  redis: ScriptConnection;
}

export class Running extends JobAbort implements TaskHost {
  horse?: Horse;
  /** Why the worker ended the job early, if it did. */
  interrupted?: Interruption;
  /** Inline only: stops waiting for the task (cold shutdown; the worker's exit ends it). */
  abandon?: (outcome: Outcome) => void;
  /** Progress the task reported that is not written yet, and when it will be. */
  #pending?: ProgressUpdate;
  #progressTimer?: NodeJS.Timeout;
  /** The length of the log lines pending, as JSON text. */
  #logBytes = 0;
  /** When the job began (performance.now()), if its start was logged: then its end is too. */
  #began?: number;
  readonly #context: RunningContext;
  /** This run's span: ended when the outcome is written (report.ts), or the job suspended. */
  readonly span: RunSpan;

  constructor(
    readonly job: Job,
    /** When its timeout falls due, epoch ms. */
    readonly deadline: number,
    context: RunningContext,
  ) {
    super();
    this.#context = context;
    this.span = new RunSpan(job);
  }

  /** The job as this worker holds it: every write of it names the claim, which recovery's next claim outdates. */
  get held(): Held {
    return { id: this.job.id, claim: this.job.claims };
  }

  /** Logs that recovery took the job from this worker (its lease ran out while it was frozen or cut off). */
  lost(): this {
    const { job } = this;
    this.#context.log.warn(
      { jobId: job.id, claim: job.claims },
      "lease lost: recovery took the job; stopping its horse",
    );
    return this;
  }

  logger(): Logger {
    return this.#context.log.child({ jobId: this.job.id });
  }

  /** Logs the job's start, at info level. */
  logStart(): void {
    const { log } = this.#context;
    if (!log.isLevelEnabled("info")) return;
    this.#began = performance.now();
    const { job } = this;
    log.info({ jobId: job.id, task: job.task, queue: job.queue, attempt: job.attempts }, "job started");
  }

  /** Logs the job's end and how long it took, if its start was logged. */
  logEnd(outcome: Outcome): void {
    if (this.#began === undefined) return;
    const { job } = this;
    const durationMs = Math.round((performance.now() - this.#began) * 1000) / 1000;
    this.#context.log.info(
      {
        jobId: job.id,
        task: job.task,
        queue: job.queue,
        durationMs,
        ok: outcome.ok,
        ...(outcome.ok ? {} : { error: outcome.error.message }),
      },
      outcome.ok ? "job finished" : "job failed",
    );
  }

  /** Logs that the job left its worker to sleep (ctx.sleep), if its start was logged; its progress waits no more. */
  logSuspended(): void {
    clearTimeout(this.#progressTimer);
    if (this.#began === undefined) return;
    const { job } = this;
    this.#context.log.info({ jobId: job.id, task: job.task, queue: job.queue }, "job suspended");
  }

  /**
   * Keeps a task's progress for the next write: a few writes a second at
   * most per job, merged in between, and the last one always goes out with
   * the job's outcome (see progressCall).
   */
  report(update: ProgressUpdate): void {
    const pending: ProgressUpdate = this.#pending ?? {};
    if (update.progress !== undefined) pending.progress = update.progress;
    if (update.meta) pending.meta = { ...pending.meta, ...update.meta };
    if (update.logs) this.#buffer(pending, update.logs);
    this.#pending = pending;
    this.#progressTimer ??= setTimeout(() => {
      const call = this.progressCall();
      if (call) {
        const { redis, log } = this.#context;
        redis.run([call]).catch((error: Error) => log.warn({ err: error.message }, "progress not written"));
      }
    }, DEFAULTS.progressIntervalMs);
  }

  /**
   * Adds log lines to the next write, keeping the latest within the log's own bounds: a task that logs faster than
   * the writes go out holds no more in the worker than Redis would keep of it, and the drop is counted.
   */
  #buffer(pending: ProgressUpdate, lines: string[]): void {
    pending.logs ??= [];
    const logs = pending.logs;
    logs.push(...lines);
    for (const line of lines) this.#logBytes += line.length;
    let drop = 0;
    while (drop < logs.length && (logs.length - drop > DEFAULTS.maxLogLines || this.#logBytes > DEFAULTS.maxLogBytes)) {
      this.#logBytes -= logs[drop++]!.length;
    }
    if (drop === 0) return;
    logs.splice(0, drop);
    pending.logsDropped = (pending.logsDropped ?? 0) + drop;
  }

  /**
   * What the task asks of Redis: a step recorded, or the job suspended for a sleep, while this worker holds the job
   * (the scripts refuse a worker whose lease ran out); or the results of the jobs it depended on.
   */
  async ask(request: Ask): Promise<Answer> {
    const { redis, keys, worker, log } = this.#context;
    try {
      if (request.kind === "record") {
        const { step, result, startedAt, endedAt } = request;
        const [reply] = await redis.run([
          scripts.recordStep.call(keys, { ...this.held, worker, step, result, startedAt, endedAt }),
        ]);
        return reply.ok ? { ok: true } : reply;
      }
      if (request.kind === "sleep" || request.kind === "wait") {
        const { kind: _, ...suspension } = request;
        const call = scripts.suspend.call(keys, { ...this.held, worker, now: Date.now(), ...suspension });
        return this.#suspend(call);
      }
      if (request.kind === "invoke") {
        const { step, task, args, options } = request;
        const queue = request.queue ?? this.job.queue;
        const now = Date.now();
        // the child's id is its parent's and the step's: made once, however often the parent replays
        const limits = { maxArgsBytes: DEFAULTS.maxArgsBytes, now };
        const child = newJob(queue, task, args, { ...options, id: `${this.job.id}:${step}` }, limits);
        return this.#suspend(scripts.invoke.call(keys, { ...this.held, worker, now, step, child }));
      }
      const ids = this.job.dependsOn;
      const jobs = ids.length ? await redis.run(ids.map((id) => scripts.getJob.call(keys, { id }))) : [];
      return { ok: true, results: Object.fromEntries(ids.map((id, i) => [id, jobs[i]?.result ?? null])) };
    } catch (error) {
      log.warn({ jobId: this.job.id, err: (error as Error).message }, `could not answer the task's ${request.kind}`);
      if (error instanceof ValidationError) return { ok: false, error: "invalid", detail: error.message };
      return { ok: false, error: "unreachable" };
    }
  }

  /** Suspends the job, its pending progress and log lines written first: once it leaves the worker, none would be. */
  async #suspend(call: Call<{ ok: true } | { ok: false; error: string }>): Promise<Answer> {
    const pending = this.progressCall();
    const calls: Call<unknown>[] = pending ? [pending, call] : [call];
    const reply = (await this.#context.redis.run(calls)).at(-1) as { ok: true } | Extract<Answer, { ok: false }>;
    return reply.ok ? { ok: true } : reply;
  }

  /** The write of the job's pending progress, if it has any; it is no longer pending. */
  progressCall(): Call<unknown> | undefined {
    clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    const update = this.#pending;
    this.#pending = undefined;
    this.#logBytes = 0;
    const { keys, worker } = this.#context;
    return update && scripts.progress.call(keys, { ...this.held, worker, update });
  }

  /**
   * Ends the job early: says why and aborts its signal. A timeout may yet
   * become a stop, a lost lease or a shutdown, which are final. False when
   * the job was ended for good already.
   */
  interrupt(why: Interruption): boolean {
    if (this.interrupted && this.interrupted !== "timeout") return false;
    this.interrupted = why;
    this.abort(new Error(`job ${why}`));
    return true;
  }

  /**
   * What happened to the job: its task's outcome, unless the worker ended it
   * early. A task that could only be asked to stop (`asked`: inline) and ran
   * on past its timeout says for how long.
   */
  explain(outcome: Outcome, asked: boolean): Outcome {
    const { interrupted, job } = this;
    if (interrupted === "timeout") {
      const ranMs = Date.now() - job.startedAt!;
      const inline = asked ? `; inline, it could only be asked to stop, and ended after ${ranMs} ms` : "";
      return {
        ok: false,
        retryable: true,
        error: {
          name: "JobTimeoutError",
          message: `task "${job.task}" ran longer than its timeout of ${job.timeoutMs} ms${inline}`,
        },
      };
    }
    if (interrupted === "stop") {
      return { ok: false, retryable: false, error: { name: "JobStoppedError", message: "stopped on request" } };
    }
    return outcome;
  }
}

/** A run that ended leaves the running jobs, unless a later claim of its job runs in its place. */
export function forget(running: Map<string, Running>, ended: Running): void {
  if (running.get(ended.job.id) === ended) running.delete(ended.job.id);
}

/** One timer for every running job's timeout, set for the earliest, rather than a timer for every job. */
export class Deadlines {
  #timer: NodeJS.Timeout | undefined;
  #at = Infinity;

  constructor(
    readonly running: ReadonlyMap<string, Running>,
    readonly executor: Interrupter,
  ) {}

  /** Sets the timer for `at`, unless it is set for sooner. */
  arm(at: number): void {
    if (at >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - Date.now()));
    // a running job keeps the worker alive by itself
    this.#timer.unref();
  }

  /** Interrupts the jobs past their timeout, and sets the timer for the next to fall due. */
  #expire(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const running of this.running.values()) {
      if (running.interrupted) continue;
      if (running.deadline <= now) this.executor.interrupt(running, "timeout");
      else next = Math.min(next, running.deadline);
    }
    if (next < Infinity) this.arm(next);
  }

  close(): void {
    clearTimeout(this.#timer);
  }
}
