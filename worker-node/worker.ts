// The worker: takes jobs from Redis and runs each in a horse (or inline),
// holding a lease on every job it runs. Like rq's worker, it listens on its
// queues in priority order; unlike rq's BLPOP, a job moves from its queue to
// the started registry inside one script, so nothing is lost between pop and
// start.
//
// Round trips: while busy, finishing a job and claiming the next is one
// script call (complete/fail claim too), and jobs that end in the same turn
// of the event loop are reported together. While idle, the worker blocks in
// Redis on its queues' wake lists (BLMPOP) for as long as the next scheduled
// job allows, with its claim queued behind the pop on the same connection, so
// the job that wakes it comes back in the same round trip; and it sends one
// heartbeat (with the fleet's maintenance pass) a minute.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { DEFAULTS } from "../shared/defaults.ts";
import { isTerminal, Keys, type Job } from "../shared/index.ts";
import { scriptRunner } from "../shared/redis.ts";
import { decodeReply, isNoScript, type ScriptRunner } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import type { Call, Completion, Failure, ProgressUpdate, Step } from "../shared/scripts/index.ts";
import { CallbackAllowlist } from "./callback.ts";
import { JobAbort } from "./horse/abort.ts";
import { compileHorse } from "./horse/bundle.ts";
import { horseEnv, type Horse, type HorseOptions } from "./horse/horse.ts";
import { HorsePool } from "./horse/pool.ts";
import { ProcessHorse } from "./horse/process.ts";
import { ThreadHorse } from "./horse/thread.ts";
import { connect, type Connection } from "./connection.ts";
import { Outbox, type OutboxOptions } from "./outbox.ts";
import { fireDueSchedules } from "../shared/schedule.ts";
import { declaration, type TaskDescription } from "../shared/tasks.ts";
import {
  describeTasks,
  runTask,
  tasksOf,
  type Outcome,
  type TaskEntry,
  type TaskHost,
  type TaskModule,
} from "./task.ts";

export interface WorkerOptions {
  redisUrl: string;
  /** A Redis Cluster's seed nodes (host:port); redisUrl then lends only its credentials and TLS. */
  clusterNodes?: string[];
  queues: string[];
  /** Path of the task module. */
  tasks: string;
  concurrency?: number;
  /** Where a job runs: a child process, a worker thread, or the worker itself (README: Isolation). */
  isolation?: "process" | "thread" | "inline";
  /** Jobs a horse serves before it is replaced (1: a fresh process or thread per job). */
  horseMaxJobs?: number;
  /** Ceiling of each horse's JavaScript heap, in MB; past it the job fails with HorseOutOfMemoryError. */
  horseMaxMemoryMb?: number | null;
  /** Names of the worker's environment variables a horse gets besides DEFAULTS.horseEnv. */
  horseEnv?: string[];
  burst?: boolean;
  prefix?: string;
  name?: string;
  logger: Logger;
  /** How long a claim holds a job without renewal. */
  leaseMs?: number;
  /** Heartbeat interval while idle; the worker entry expires after 3 of them. */
  heartbeatMs?: number;
  /** How often the fleet runs the maintenance pass (under a lock). */
  maintenanceMs?: number;
  /** Time between SIGTERM and SIGKILL for a horse that must stop. */
  killGraceMs?: number;
  /** Longest a blocking wait lasts with nothing scheduled. */
  idleBlockMs?: number;
  /** Callback deliveries: the signing secret, what they may reach inside the network, their pace. */
  callbacks?: Partial<CallbackSettings>;
}

export interface CallbackSettings extends Omit<OutboxOptions, "allow"> {
  /** Host names, addresses and CIDRs inside the network that callbacks may reach (EDGEQ_CALLBACK_ALLOW). */
  allow: string[];
}

/** Past a warm shutdown's last job, how long writes to an unreachable Redis are waited for: the rest is recovery's. */
const SHUTDOWN_WRITES_MS = 5_000;

/** How long a stopping worker waits for the reply of a claim that may have run behind its wait (see #endWait). */
const WAIT_REPLY_MS = 100;

/** Where a running job's reports go: one per worker, rather than closures for every job. */
interface Hooks {
  log: Logger;
  progress(running: Running, update: ProgressUpdate): void;
}

/** A job the worker runs, and the host its task runs in when it runs inline. */
class Running extends JobAbort implements TaskHost {
  horse?: Horse;
  /** Progress the task reported that is not written yet, and when it will be. */
  pending?: ProgressUpdate;
  progressTimer?: NodeJS.Timeout;
  /** Why the worker ended the job early, if it did. */
  interrupted?: "timeout" | "stop" | "lost" | "shutdown";
  /** Inline only: stops waiting for the task (cold shutdown; the worker's exit ends it). */
  abandon?: (outcome: Outcome) => void;

  readonly #hooks: Hooks;

  constructor(
    readonly job: Job,
    /** When its timeout falls due, epoch ms. */
    readonly deadline: number,
    hooks: Hooks,
  ) {
    super();
    this.#hooks = hooks;
  }

  logger(): Logger {
    return this.#hooks.log.child({ jobId: this.job.id });
  }

  report(update: ProgressUpdate): void {
    this.#hooks.progress(this, update);
  }
}

/** What a cold shutdown answers for an inline task it stops waiting for. */
const ABANDONED: Outcome = {
  ok: false,
  retryable: true,
  error: { name: "AbortError", message: "abandoned by a cold shutdown" },
};

export class Worker {
  readonly name: string;
  readonly keys: Keys;
  readonly #opts: Required<Omit<WorkerOptions, "name" | "prefix" | "callbacks" | "clusterNodes">>;
  readonly #log: Logger;
  readonly #redis: Connection;
  readonly #runner: ScriptRunner;
  readonly #blocker: Connection;
  /** Subscribed to this worker's control channel: stop requests arrive at once. */
  readonly #control: Connection;
  readonly #running = new Map<string, Running>();
  readonly #hooks: Hooks;
  /** Jobs that ended and are not reported yet: those ending in one turn of the event loop go in one call. */
  #ended: { running: Running; outcome: Outcome }[] = [];
  #reportSoon: NodeJS.Immediate | undefined;
  /** Report calls in flight. */
  #reporting = 0;
  /** One timer for every running job's timeout, set for the earliest. */
  #deadlineTimer: NodeJS.Timeout | undefined;
  #deadlineAt = Infinity;
  readonly #outbox: Outbox;
  /** Outcomes a stopping worker could not write (Redis unreachable): their leases bring them back. */
  #unwritten = 0;
  #pool: HorsePool | undefined;
  #inlineTasks: Map<string, TaskEntry> | undefined;
  /** The tasks this worker declares for its queues, and when it last did. */
  #tasks: TaskDescription[] = [];
  #declaredAt = 0;
  /** Slots with a claim in flight. */
  #reserved = 0;
  /** The blocking wait in flight, with the claim behind it. */
  #waiting: Promise<unknown> | undefined;
  #nextDueAt: number | null = null;
  #state: "starting" | "running" | "warm" | "cold" | "stopped" = "starting";
  #counters = { processed: 0, failed: 0 };
  #tickTimer: NodeJS.Timeout | undefined;
  /** Fires when the earliest schedule falls due: an idle worker wakes for a tick without polling. */
  #scheduleTimer: NodeJS.Timeout | undefined;
  #tickDueAt = Infinity;
  #lastMaintenance = 0;
  #startedAt = Date.now();
  #done!: () => void;
  readonly #finished = new Promise<void>((resolve) => (this.#done = resolve));

  constructor(options: WorkerOptions) {
    const { concurrency, isolation, horseMaxJobs, horseMaxMemoryMb } = DEFAULTS;
    const { leaseMs, heartbeatMs, maintenanceMs, killGraceMs, idleBlockMs } = DEFAULTS;
    this.#opts = {
      concurrency,
      isolation,
      horseMaxJobs,
      horseMaxMemoryMb,
      horseEnv: [],
      burst: false,
      leaseMs,
      heartbeatMs,
      maintenanceMs,
      killGraceMs,
      idleBlockMs,
      ...definedOnly(options),
    };
    this.name = options.name ?? `${hostname()}.${process.pid}.${randomBytes(3).toString("hex")}`;
    this.keys = Keys.forPrefix(options.prefix);
    this.#log = options.logger.child({ worker: this.name });
    this.#hooks = { log: this.#log, progress: (running, update) => this.#progress(running, update) };
    const redisOptions: RedisOptions = {
      // hold commands while Redis is away instead of failing them: a result
      // finished during an outage is reported when Redis is back
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
      connectionName: `edgeq:${this.name}`,
    };
    const target = { url: options.redisUrl, clusterNodes: options.clusterNodes };
    this.#redis = connect(target, redisOptions);
    this.#runner = scriptRunner(this.#redis);
    this.#blocker = connect(target, { ...redisOptions, connectionName: `edgeq:${this.name}:wait` });
    this.#control = connect(target, { ...redisOptions, connectionName: `edgeq:${this.name}:control` });
    this.#control.on("message", (channel: string, id: string) => {
      if (channel === this.keys.schedulesChanged()) {
        void this.#fireSchedules();
        return;
      }
      const running = this.#running.get(id);
      if (running) this.#interrupt(running, "stop");
    });
    for (const client of [this.#redis, this.#blocker, this.#control]) {
      client.on("error", (error) => this.#log.warn({ err: error.message }, "redis connection error"));
    }
    const callbacks = { ...DEFAULTS_CALLBACKS, ...definedOnly(options.callbacks ?? {}) };
    if (!callbacks.secret) this.#log.warn("EDGEQ_CALLBACK_SECRET is not set: callbacks go out unsigned");
    this.#outbox = new Outbox(
      this.#runner,
      this.keys,
      { ...callbacks, allow: new CallbackAllowlist(callbacks.allow) },
      this.#log,
    );
  }

  /** Starts working; resolves once the worker has stopped. */
  async run(): Promise<void> {
    const { tasks, isolation, concurrency, horseMaxJobs } = this.#opts;
    if (isolation === "inline") {
      this.#inlineTasks = tasksOf((await import(tasks)) as TaskModule);
      this.#tasks = describeTasks(this.#inlineTasks);
    } else {
      const bundle = await compileHorse(tasks);
      const options: HorseOptions = {
        env: horseEnv([...DEFAULTS.horseEnv, ...this.#opts.horseEnv]),
        maxMemoryMb: this.#opts.horseMaxMemoryMb,
        logger: this.#log,
      };
      const Kind = isolation === "thread" ? ThreadHorse : ProcessHorse;
      // a first horse proves the task module loads (or the worker stops here)
      // and says which tasks it defines, for the worker to declare
      const probe = new Kind(bundle, options);
      try {
        await probe.ready;
        this.#tasks = await probe.describe();
      } finally {
        probe.retire();
      }
      this.#pool = new HorsePool(() => new Kind(bundle, options), concurrency, horseMaxJobs, this.#log);
      this.#pool.fill();
    }
    if (this.#state !== "starting") {
      // stopped while compiling: nothing was claimed yet
      this.#maybeExit();
      return this.#finished;
    }
    await this.#control.subscribe(this.keys.control(this.name), this.keys.schedulesChanged());
    this.#state = "running";
    this.#log.info({ queues: this.#opts.queues, concurrency, isolation, horseMaxJobs }, "worker started");
    // deliveries left by others (the edge, a worker that died) may be waiting
    this.#outbox.poke();
    void this.#fireSchedules();
    await this.#declare();
    await this.#tick();
    this.#fill();
    await this.#finished;
  }

  /** First call: warm shutdown (finish running jobs). Second: cold (kill them, put them back). */
  stop(): void {
    if (this.#state === "running" || this.#state === "starting") {
      this.#state = "warm";
      this.#log.info({ running: this.#running.size }, "warm shutdown: finishing running jobs");
      void this.#endWait();
      this.#maybeExit();
    } else if (this.#state === "warm") {
      this.#state = "cold";
      this.#log.warn({ running: this.#running.size }, "cold shutdown: stopping running jobs and putting them back");
      for (const running of this.#running.values()) this.#interrupt(running, "shutdown");
    }
  }

  get accepting(): boolean {
    return this.#state === "running";
  }

  #free(): number {
    return this.#opts.concurrency - this.#running.size - this.#reserved;
  }

  /** What this worker wants next: up to `max` jobs from its queues. */
  #wants(max: number) {
    return { leaseMs: this.#opts.leaseMs, max, queues: this.#opts.queues };
  }

  /** What the worker's entry says while it stops, in every step it takes: see claim.lua. */
  #stopping(): "warm" | "cold" | undefined {
    return this.#state === "warm" || this.#state === "cold" ? this.#state : undefined;
  }

  #claimCall(max: number, behindWait = false): Call<Step> {
    return scripts.claim.call(this.keys, {
      now: Date.now(),
      worker: this.name,
      next: this.#wants(max),
      running: [...this.#running.keys()],
      stopping: this.#stopping(),
      behindWait,
    });
  }

  /**
   * Claims jobs for free slots; when there are none to claim, waits in Redis.
   * After a wake-up it claims even with no free slot: the claim script
   * passes the wake marker on to another worker while jobs remain.
   */
  async #fill(wokenUp = false): Promise<void> {
    const want = this.accepting ? Math.max(0, this.#free()) : 0;
    if (want === 0 && !wokenUp) return;
    this.#reserved += want;
    let step: Step | undefined;
    try {
      [step] = await this.#pipeline([this.#claimCall(want)]);
    } catch (error) {
      this.#log.error({ err: error }, "claim failed");
    } finally {
      this.#reserved -= want;
    }
    this.#afterClaim(step, want);
  }

  #afterClaim(step: Step | undefined, wanted: number): void {
    if (!step) {
      if (wanted > 0) this.#wait();
      return;
    }
    this.#nextDueAt = step.nextDueAt;
    for (const job of step.jobs) void this.#start(job);
    // the claim stopped at its bound (expired or stale ids), or slots came free while it was out (a claim behind a
    // wait asked for those free when the wait began): look again at once
    const short = step.jobs.length < wanted;
    if (this.accepting && (short ? step.more : this.#free() > 0)) {
      void this.#fill();
      return;
    }
    if (step.jobs.length < wanted) {
      if (this.#opts.burst && this.#running.size === 0 && this.#nextDueAt === null) {
        this.#log.info("burst: queues are empty, stopping");
        this.stop();
        return;
      }
      this.#wait();
    }
  }

  /**
   * Blocks on the wake lists until a job may be waiting, or the next
   * scheduled job is due, or a callback delivery was put in the outbox, with
   * a claim for the free slots queued behind the pop on the same connection:
   * Redis runs it as soon as the pop returns, and the jobs that woke the
   * worker come back with it. One wait at a time.
   */
  async #wait(): Promise<void> {
    if (this.#waiting || !this.accepting) return;
    const want = Math.max(0, this.#free());
    this.#reserved += want;
    const claim = this.#claimCall(want, true);
    let woken: unknown;
    let step: Step | undefined;
    try {
      const untilDue = this.#nextDueAt === null ? Infinity : this.#nextDueAt - Date.now();
      const timeoutSec = Math.max(0.01, Math.min(untilDue, this.#opts.idleBlockMs) / 1000);
      const wakeKeys = [...this.#opts.queues.map((q) => this.keys.wake(q)), this.keys.outboxWake()];
      this.#waiting = this.#blocker
        .pipeline()
        .blmpop(timeoutSec.toFixed(3), wakeKeys.length, ...wakeKeys, "LEFT")
        .evalsha(claim.script.sha, claim.keys.length, ...claim.keys, ...claim.argv)
        .exec();
      const [pop, claimed] = ((await this.#waiting) ?? []) as [Error | null, unknown][];
      if (pop?.[0]) throw pop[0];
      woken = pop?.[1];
      // a claim that did not run (the script not cached on the server) is made below, as a plain one
      const [claimError, reply] = claimed ?? [];
      if (claimError && !isNoScript(claimError)) {
        this.#log.warn({ err: (claim.script.explain(claimError) as Error).message }, "claim behind the wait failed");
      }
      if (claimed && !claimError) step = claim.decode(decodeReply(reply));
    } catch (error) {
      if (this.accepting) {
        this.#log.warn({ err: (error as Error).message }, "blocking wait failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      this.#waiting = undefined;
      this.#reserved -= want;
    }
    if (Array.isArray(woken) && woken[0] === this.keys.outboxWake()) this.#outbox.poke();
    if (step) this.#afterClaim(step, want);
    else if (this.accepting) await this.#fill(true);
    this.#maybeExit();
  }

  /**
   * Ends a stopping worker's blocking wait. The claim behind it may have run
   * already, its reply on the way: the jobs it took are run, as a warm
   * shutdown runs what it holds. So the worker first writes into its entry
   * that it stops (a claim behind its wait takes nothing from then on),
   * gives a reply already sent a moment to arrive, and then cuts the
   * connection.
   */
  async #endWait(): Promise<void> {
    const waiting = this.#waiting;
    if (waiting) {
      try {
        await this.#whileStopping(this.#pipeline([this.#renewal(Date.now())]));
      } catch (error) {
        this.#log.warn({ err: (error as Error).message }, "could not record the stop in the worker's entry");
      }
      let timer: NodeJS.Timeout | undefined;
      const pause = new Promise((resolve) => {
        timer = setTimeout(resolve, WAIT_REPLY_MS);
      });
      await Promise.race([waiting, pause]).catch(() => {});
      clearTimeout(timer);
    }
    this.#blocker.disconnect();
  }

  async #start(job: Job): Promise<void> {
    const running = new Running(job, Date.now() + job.timeoutMs, this.#hooks);
    this.#running.set(job.id, running);
    this.#armDeadline(running.deadline);
    this.#scheduleTick();
    const began = performance.now();
    const logs = this.#log.isLevelEnabled("info");
    if (logs) {
      this.#log.info({ jobId: job.id, task: job.task, queue: job.queue, attempt: job.attempts }, "job started");
    }
    let outcome: Outcome;
    if (this.#inlineTasks) {
      outcome = await this.#runInline(running, this.#inlineTasks);
    } else {
      outcome = await this.#runInHorse(running);
    }
    outcome = this.#explain(running, outcome);
    if (logs) {
      const durationMs = Math.round((performance.now() - began) * 1000) / 1000;
      this.#log.info(
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
    this.#report(running, outcome);
  }

  /** Sets the one timeout timer for `at`, unless it is set for sooner. */
  #armDeadline(at: number): void {
    if (at >= this.#deadlineAt) return;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAt = at;
    this.#deadlineTimer = setTimeout(() => this.#timeouts(), Math.max(0, at - Date.now()));
    // a running job keeps the worker alive by itself
    this.#deadlineTimer.unref();
  }

  /** Interrupts the jobs past their timeout, and sets the timer for the next to fall due. */
  #timeouts(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const running of this.#running.values()) {
      if (running.interrupted) continue;
      if (running.deadline <= now) this.#interrupt(running, "timeout");
      else next = Math.min(next, running.deadline);
    }
    if (next < Infinity) this.#armDeadline(next);
  }

  async #runInHorse(running: Running): Promise<Outcome> {
    for (;;) {
      let horse: Horse;
      try {
        horse = await this.#pool!.take();
      } catch (error) {
        return { ok: false, retryable: true, error: { name: "HorseCrashedError", message: (error as Error).message } };
      }
      running.horse = horse;
      // interrupted while it waited for a horse to be ready
      if (running.interrupted) this.#terminate(running);
      const outcome = await horse.run(running.job, (update) => running.report(update));
      if (!running.interrupted) this.#pool!.release(horse);
      // a horse killed before its last job had no successor booted for it
      else if (this.accepting) this.#pool!.fill();
      // null: the horse was dead before the job reached it; the job is not at fault
      if (outcome) return outcome;
    }
  }

  /**
   * Keeps a task's progress for the next write: a few writes a second at
   * most per job, merged in between, and the last one always goes out with
   * the job's outcome (see #report).
   */
  #progress(running: Running, update: ProgressUpdate): void {
    const pending: ProgressUpdate = running.pending ?? {};
    if (update.progress !== undefined) pending.progress = update.progress;
    if (update.meta) pending.meta = { ...pending.meta, ...update.meta };
    running.pending = pending;
    running.progressTimer ??= setTimeout(() => {
      const call = this.#progressCall(running);
      if (call) {
        this.#pipeline([call]).catch((error: Error) => this.#log.warn({ err: error.message }, "progress not written"));
      }
    }, DEFAULTS.progressIntervalMs);
  }

  /** The write of a job's pending progress, if it has any; it is no longer pending. */
  #progressCall(running: Running): Call<unknown> | undefined {
    clearTimeout(running.progressTimer);
    running.progressTimer = undefined;
    const update = running.pending;
    running.pending = undefined;
    return update && scripts.progress.call(this.keys, { id: running.job.id, worker: this.name, update });
  }

  /**
   * Ends a running job early: its signal is aborted and its horse terminated.
   * An inline task can only be asked: it keeps its slot until it settles.
   */
  #interrupt(running: Running, why: NonNullable<Running["interrupted"]>): void {
    if (running.interrupted && running.interrupted !== "timeout") return;
    if (this.#inlineTasks && !running.interrupted && why !== "shutdown") {
      this.#log.warn(
        { jobId: running.job.id, why },
        "an inline task cannot be stopped, only asked through ctx.signal: its slot stays taken until it settles",
      );
    }
    running.interrupted = why;
    running.abort(new Error(`job ${why}`));
    this.#terminate(running);
    if (why === "shutdown") running.abandon?.(ABANDONED);
  }

  /** Ends an interrupted job's horse: after the kill grace, or at once in a cold shutdown. */
  #terminate(running: Running): void {
    running.horse?.terminate(running.interrupted === "shutdown" ? 0 : this.#opts.killGraceMs);
  }

  /** Turns an interrupted job's outcome into what happened to it. */
  #explain(running: Running, outcome: Outcome): Outcome {
    const { interrupted, job } = running;
    if (interrupted === "timeout") {
      // an inline task ran on past its timeout (see #runInline): say for how long
      const ranMs = Date.now() - job.startedAt!;
      const inline = this.#inlineTasks ? `; inline, it could only be asked to stop, and ended after ${ranMs} ms` : "";
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

  /**
   * Inline isolation (rq's SimpleWorker): the task runs in the worker's own
   * process. JavaScript cannot stop a running function, so a task past its
   * timeout, or asked to stop, has its signal aborted and keeps its slot
   * until it settles: --concurrency holds, and the job's outcome is written
   * when the task has really ended, never while it still runs. A cold
   * shutdown alone stops waiting: the worker's exit ends the task.
   */
  #runInline(running: Running, tasks: Map<string, TaskEntry>): Promise<Outcome> {
    return new Promise((settle) => {
      running.abandon = settle;
      runTask(tasks, running.job, running).then(settle);
    });
  }

  /**
   * Takes a job's outcome to report. Alone, it goes at once; beside other
   * running jobs it waits for the end of this turn of the event loop, so
   * that the jobs ending in it are reported, and their successors claimed,
   * in one script call.
   */
  #report(running: Running, outcome: Outcome): void {
    this.#running.delete(running.job.id);
    if (outcome.ok) this.#counters.processed++;
    else this.#counters.failed++;
    this.#ended.push({ running, outcome });
    if (this.#running.size === 0) void this.#reportEnded();
    else this.#reportSoon ??= setImmediate(() => void this.#reportEnded());
  }

  /**
   * Reports the jobs that ended and claims their successors: one round trip.
   * A call takes half the slots' jobs at most, so that two are in flight and
   * Redis works on one while the worker runs the jobs of the other (one call
   * for all would have each wait for the other), and the script's work stays
   * bounded. The rest go in the next turn of the event loop.
   */
  async #reportEnded(): Promise<void> {
    clearImmediate(this.#reportSoon);
    this.#reportSoon = undefined;
    const lane = Math.min(Math.ceil(this.#opts.concurrency / 2), DEFAULTS.scriptBatch);
    const batch = this.#ended.splice(0, lane);
    if (this.#ended.length > 0) this.#reportSoon = setImmediate(() => void this.#reportEnded());
    const now = Date.now();
    // the slots of the jobs reported later are claimed with them
    const free = Math.max(0, this.#free() - this.#ended.length);
    const want = this.accepting ? free : 0;
    const base = { now, worker: this.name, running: [...this.#running.keys()], stopping: this.#stopping() };
    const completions: Completion[] = [];
    const failures: Failure[] = [];
    // the tasks' last progress goes ahead of their outcomes, in the same round trip
    const calls: Call<unknown>[] = [];
    for (const { running, outcome } of batch) {
      const { id } = running.job;
      // another worker owns a lost job now: report nothing
      if (running.interrupted === "lost") continue;
      const progress = this.#progressCall(running);
      if (progress) calls.push(progress);
      if (running.interrupted === "shutdown")
        calls.push(scripts.requeue.call(this.keys, { now, id, worker: this.name }));
      else if (outcome.ok) completions.push({ id, result: outcome.result });
      else failures.push({ id, error: outcome.error, retryable: outcome.retryable });
    }
    // the last report claims the next jobs; with none, a plain claim does
    const next = want > 0 ? this.#wants(want) : undefined;
    const reports: Call<Step>[] = [];
    if (completions.length > 0) {
      const claims = failures.length === 0 ? next : undefined;
      reports.push(scripts.complete.call(this.keys, { ...base, jobs: completions, next: claims }));
    }
    if (failures.length > 0) reports.push(scripts.fail.call(this.keys, { ...base, jobs: failures, next }));
    if (reports.length === 0 && next) reports.push(this.#claimCall(want));
    calls.push(...reports);
    const jobIds = batch.filter(({ running }) => running.interrupted !== "lost").map(({ running }) => running.job.id);
    this.#reserved += want;
    this.#reporting++;
    let steps: Step[] = [];
    try {
      const replies = calls.length > 0 ? await this.#whileStopping(this.#pipeline(calls, 10), jobIds) : [];
      steps = (replies?.slice(calls.length - reports.length) ?? []) as Step[];
    } catch (error) {
      // their leases run out and recovery retries them: nothing is lost
      this.#log.error({ jobIds, err: error }, "could not report the outcomes of jobs");
    } finally {
      this.#reserved -= want;
      this.#reporting--;
    }
    const byId = new Map(batch.map(({ running }) => [running.job.id, running.job]));
    const reportedIds = [...(completions.length > 0 ? [completions] : []), ...(failures.length > 0 ? [failures] : [])];
    let poke = false;
    steps.forEach((step, i) => {
      step.reported.forEach(({ ok, status }, j) => {
        const job = byId.get(reportedIds[i]?.[j]?.id ?? "");
        if (!job) return;
        if (!ok) this.#log.warn({ jobId: job.id, status }, "the job's lease was lost before its outcome was reported");
        // the script put the callback in the outbox: this worker takes it first
        else if (job.callbackUrl && status !== "missing" && isTerminal(status)) poke = true;
      });
    });
    if (poke) this.#outbox.poke();
    if (want > 0) this.#afterClaim(steps.at(-1), want);
    this.#maybeExit();
  }

  /**
   * Runs scripts in one pipeline (one round trip), falling back to EVAL for
   * any the server has not cached. Retries when Redis is unreachable.
   */
  async #pipeline<C extends Call<unknown>[]>(
    calls: [...C],
    attempts = 1,
  ): Promise<{ [I in keyof C]: C[I] extends Call<infer R> ? R : never }> {
    for (let attempt = 1; ; attempt++) {
      try {
        // one call goes without a pipeline object: 8-18 µs of CPU less a call, measured
        if (calls.length === 1) {
          const [{ script, keys, argv, decode }] = calls;
          return [decode(await script.exec(this.#runner, keys, argv))] as never;
        }
        const pipeline = this.#redis.pipeline();
        for (const { script, keys, argv } of calls) pipeline.evalsha(script.sha, keys.length, ...keys, ...argv);
        const results = (await pipeline.exec()) ?? [];
        const replies: unknown[] = [];
        for (const [i, [error, reply]] of results.entries()) {
          const { script, keys, argv, decode } = calls[i]!;
          if (error && !isNoScript(error)) throw script.explain(error);
          // not cached on the server (a restart): send the source
          const raw = error ? await script.exec(this.#runner, keys, argv) : decodeReply(reply);
          replies.push(decode(raw));
        }
        return replies as never;
      } catch (error) {
        if (attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000)));
      }
    }
  }

  /**
   * Fires the schedules that are due (any worker may: a tick makes one job
   * across the fleet), then sleeps until the next one is; a schedule made or
   * changed anywhere wakes every worker through pub/sub.
   */
  async #fireSchedules(): Promise<void> {
    if (!this.accepting) return;
    clearTimeout(this.#scheduleTimer);
    let nextAt: number | null;
    try {
      const fired = await fireDueSchedules(this.#runner, this.keys);
      if (fired.fired.length > 0) this.#log.info({ jobs: fired.fired }, "schedules fired");
      nextAt = fired.nextAt;
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "could not fire schedules; trying again shortly");
      nextAt = Date.now() + 1_000;
    }
    if (nextAt === null || !this.accepting) return;
    // a timer longer than a day is checked again then (setTimeout holds at most ~24.8 days)
    const wait = Math.min(Math.max(0, nextAt - Date.now()), 24 * 3600 * 1000);
    this.#scheduleTimer = setTimeout(() => void this.#fireSchedules(), wait);
    this.#scheduleTimer.unref();
  }

  /** Busy: renew leases every third of a lease. Idle: one heartbeat per heartbeatMs. */
  #scheduleTick(): void {
    const interval = this.#running.size > 0 ? this.#opts.leaseMs / 3 : this.#opts.heartbeatMs;
    const dueAt = Date.now() + interval;
    if (this.#tickTimer && this.#tickDueAt <= dueAt) return;
    clearTimeout(this.#tickTimer);
    this.#tickDueAt = dueAt;
    this.#tickTimer = setTimeout(() => void this.#tick(), interval);
    this.#tickTimer.unref();
  }

  /**
   * Declares the tasks this worker runs, with their args' JSON Schemas, for
   * its queues: the edge refuses jobs none of them would run (shared/tasks.ts).
   */
  async #declare(): Promise<void> {
    const now = Date.now();
    try {
      await this.#pipeline([declaration(this.keys, this.#opts.queues, this.#tasks, now)]);
      this.#declaredAt = now;
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "tasks not declared: the edge takes any task for these queues");
    }
  }

  /** Heartbeat, lease renewal and (when due) the maintenance pass: one round trip. */
  async #tick(): Promise<void> {
    this.#tickTimer = undefined;
    this.#tickDueAt = Infinity;
    if (this.#state === "stopped") return;
    const now = Date.now();
    // a declaration lasts a day: renewed hourly, it fades only once no worker serves the task
    if (now - this.#declaredAt >= DEFAULTS.taskDeclareEveryMs) void this.#declare();
    const renewal = this.#renewal(now);
    const maintain = now - this.#lastMaintenance >= this.#opts.maintenanceMs;
    try {
      const [renewed, recovered] = maintain
        ? await this.#pipeline([renewal, scripts.recover.call(this.keys, { now, lockMs: this.#opts.maintenanceMs })])
        : [...(await this.#pipeline([renewal])), undefined];
      if (maintain) this.#lastMaintenance = now;
      if (recovered?.ran && (recovered.recovered > 0 || recovered.promoted > 0)) {
        this.#log.info({ recovered: recovered.recovered, promoted: recovered.promoted }, "maintenance pass");
      }
      for (const id of renewed.stop) {
        const running = this.#running.get(id);
        if (running) this.#interrupt(running, "stop");
      }
      this.#outbox.wakeAt(renewed.outboxDueAt);
      for (const id of renewed.lost) {
        const running = this.#running.get(id);
        if (running) {
          this.#log.warn({ jobId: id }, "lease lost: another worker owns this job now; abandoning it");
          this.#interrupt(running, "lost");
        }
      }
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "heartbeat failed");
    }
    this.#scheduleTick();
  }

  /** The heartbeat: the worker's entry, and its running jobs' leases. */
  #renewal(now: number) {
    return scripts.renew.call(this.keys, {
      now,
      leaseMs: this.#opts.leaseMs,
      worker: this.name,
      state: this.#stateFields(),
      entryTtlMs: this.#opts.heartbeatMs * 3,
      running: [...this.#running.keys()],
    });
  }

  #stateFields(): Record<string, string> {
    return {
      name: this.name,
      queues: this.#opts.queues.join(","),
      pid: String(process.pid),
      host: hostname(),
      state: this.#state !== "running" ? this.#state : this.#running.size > 0 ? "busy" : "idle",
      currentJobs: [...this.#running.keys()].join(","),
      concurrency: String(this.#opts.concurrency),
      isolation: this.#opts.isolation,
      startedAt: String(this.#startedAt),
    };
  }

  /**
   * While the worker runs, waits for a write however long Redis is away (it
   * is held and sent when Redis is back). A stopping worker waits a bounded
   * time: a shutdown must end, and an outcome it could not write is left to
   * lease recovery, as at-least-once delivery promises.
   */
  async #whileStopping<T>(write: Promise<T>, jobIds: string[] = []): Promise<T | undefined> {
    if (this.accepting) return write;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), this.#opts.killGraceMs + SHUTDOWN_WRITES_MS);
    });
    try {
      const result = await Promise.race([write, deadline]);
      if (result !== "late") return result;
      if (jobIds.length > 0) {
        this.#unwritten += jobIds.length;
        this.#log.warn({ jobIds }, "Redis is unreachable: the jobs' outcomes are left to lease recovery");
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  #maybeExit(): void {
    // the claim behind a wait may yet bring jobs, and ended jobs may wait to be reported
    const busy = this.#running.size > 0 || this.#waiting || this.#ended.length > 0 || this.#reporting > 0;
    if (this.accepting || busy || this.#state === "stopped") return;
    this.#state = "stopped";
    void this.#close();
  }

  async #close(): Promise<void> {
    clearTimeout(this.#tickTimer);
    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#scheduleTimer);
    this.#pool?.close();
    this.#blocker.disconnect();
    this.#control.disconnect();
    // deliveries in flight finish (within the bound); those not taken stay in the outbox for others
    const delivered = await this.#outbox.close(this.#opts.killGraceMs + SHUTDOWN_WRITES_MS);
    // with Redis away, the entry expires on its own: nothing is waited for
    if (this.#redis.status === "ready") {
      const removed = this.#redis.multi().zrem(this.keys.workers(), this.name).del(this.keys.worker(this.name)).exec();
      try {
        await this.#whileStopping(removed);
      } catch (error) {
        this.#log.warn({ err: (error as Error).message }, "could not remove the worker entry");
      }
    }
    this.#redis.disconnect();
    const unwritten = this.#unwritten;
    if (unwritten > 0 || !delivered) {
      this.#log.warn(
        { ...this.#counters, unwritten, callbacksInFlight: !delivered },
        "worker stopped; outcomes it could not write are left to lease recovery, callbacks in flight to their lease",
      );
    } else {
      this.#log.info(this.#counters, "worker stopped");
    }
    this.#done();
  }
}

const DEFAULTS_CALLBACKS: CallbackSettings = {
  secret: null,
  allow: [],
  concurrency: DEFAULTS.callbackConcurrency,
  attempts: DEFAULTS.callbackAttempts,
  leaseMs: DEFAULTS.callbackLeaseMs,
  timeoutMs: DEFAULTS.callbackTimeoutMs,
  backoffMs: DEFAULTS.callbackBackoffMs,
};

/** The options that were given: an explicit undefined keeps the default. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}
