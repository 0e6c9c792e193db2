// The worker: takes jobs from Redis and runs each in a horse (or inline),
// holding a lease on every job it runs. Like rq's worker, it listens on its
// queues in priority order; unlike rq's BLPOP, a job moves from its queue to
// the started registry inside one script, so nothing is lost between pop and
// start. This file is its claim loop and its shutdown; where a job runs is
// executor.ts, a running job running.ts, the blocking wait wait.ts, the
// script calls that report ended jobs report.ts, the periodic work
// heartbeat.ts, the options and their defaults options.ts.
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
import type { Logger } from "pino";
import { DEFAULTS } from "../shared/defaults.ts";
import { Keys, type Job } from "../shared/index.ts";
import type { Call } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import type { Step } from "../shared/scripts/index.ts";
import { ScriptConnection, workerConnection, type Connection } from "./connection.ts";
import { executorFor, type Executor } from "./executor.ts";
import { Heartbeat, type WorkerState } from "./heartbeat.ts";
import { settingsOf, outboxOptionsOf, type Settings, type WorkerOptions } from "./options.ts";
import { Outbox } from "./outbox.ts";
import { Report, type Ended } from "./report.ts";
import { Deadlines, forget, Running, type RunningContext } from "./running.ts";
import { BlockingWait } from "./wait.ts";
import type { Outcome } from "./task.ts";

/** Past a warm shutdown's last job, how long writes to an unreachable Redis are waited for: the rest is recovery's. */
const SHUTDOWN_WRITES_MS = 5_000;

export class Worker {
  readonly name: string;
  readonly keys: Keys;
  readonly #opts: Settings;
  readonly #log: Logger;
  readonly #redis: ScriptConnection;
  readonly #blocking: BlockingWait;
  /** Subscribed to this worker's control channel: stop requests arrive at once. */
  readonly #control: Connection;
  readonly #running = new Map<string, Running>();
  readonly #context: RunningContext;
  readonly #executor: Executor;
  readonly #deadlines: Deadlines;
  readonly #heartbeat: Heartbeat;
  readonly #outbox: Outbox;
  /** Jobs that ended and are not reported yet: those ending in one turn of the event loop go in one call. */
  #ended: Ended[] = [];
  #reportSoon: NodeJS.Immediate | undefined;
  /** Report calls in flight. */
  #reporting = 0;
  /** Outcomes a stopping worker could not write (Redis unreachable): their leases bring them back. */
  #unwritten = 0;
  /** Slots with a claim in flight. */
  #reserved = 0;
  /** WAITs a report may send while replicas lag: as many as fit in a third of a lease, which its claims hold. */
  readonly #waits: number;
  #nextDueAt: number | null = null;
  #state: WorkerState = "starting";
  #counters = { processed: 0, failed: 0 };
  #done!: () => void;
  readonly #finished = new Promise<void>((resolve) => (this.#done = resolve));

  constructor(options: WorkerOptions) {
    this.#opts = settingsOf(options);
    this.name = options.name ?? `${hostname()}.${process.pid}.${randomBytes(3).toString("hex")}`;
    this.keys = Keys.forPrefix(options.prefix);
    this.#log = options.logger.child({ worker: this.name });
    const target = { url: options.redisUrl, clusterNodes: options.clusterNodes, sentinel: options.sentinel };
    this.#redis = new ScriptConnection(workerConnection(target, `edgeq:${this.name}`), options.waitReplicas);
    this.#waits = Math.max(1, Math.floor(this.#opts.leaseMs / 3 / (options.waitReplicas?.timeoutMs ?? Infinity)));
    const blocker = new ScriptConnection(workerConnection(target, `edgeq:${this.name}:wait`));
    this.#control = workerConnection(target, `edgeq:${this.name}:control`);
    this.#control.on("message", (channel: string, id: string) => {
      if (channel === this.keys.schedulesChanged()) {
        void this.#heartbeat.fireSchedules();
        return;
      }
      const running = this.#running.get(id);
      if (running) this.#executor.interrupt(running, "stop");
    });
    for (const client of [this.#redis.connection, blocker.connection, this.#control]) {
      client.on("error", (error) => this.#log.warn({ err: error.message }, "redis connection error"));
    }
    const callbacks = outboxOptionsOf(options);
    if (!callbacks.secret) this.#log.warn("EDGEQ_CALLBACK_SECRET is not set: callbacks go out unsigned");
    this.#outbox = new Outbox(this.#redis.runner, this.keys, callbacks, this.#log);
    this.#blocking = new BlockingWait(blocker, this.keys, this.#opts.queues, this.#outbox, this, this.#log);
    this.#context = { log: this.#log, keys: this.keys, worker: this.name, redis: this.#redis };
    this.#executor = executorFor(this.#opts, this, this.#log);
    this.#deadlines = new Deadlines(this.#running, this.#executor);
    this.#heartbeat = new Heartbeat({
      name: this.name,
      keys: this.keys,
      log: this.#log,
      options: this.#opts,
      redis: this.#redis,
      outbox: this.#outbox,
      running: this.#running,
      executor: this.#executor,
      state: () => this.#state,
    });
  }

  /** Starts working; resolves once the worker has stopped. */
  async run(): Promise<void> {
    const tasks = await this.#executor.start();
    if (this.#state !== "starting") {
      // stopped while compiling: nothing was claimed yet
      this.#maybeExit();
      return this.#finished;
    }
    await this.#control.subscribe(this.keys.control(this.name), this.keys.schedulesChanged());
    this.#state = "running";
    const { queues, concurrency, isolation, horseMaxJobs } = this.#opts;
    this.#log.info({ queues, concurrency, isolation, horseMaxJobs }, "worker started");
    // deliveries left by others (the edge, a worker that died) may be waiting
    this.#outbox.poke();
    await this.#heartbeat.start(tasks);
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
      for (const running of this.#running.values()) this.#executor.interrupt(running, "shutdown");
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
      [step] = await this.#redis.run([this.#claimCall(want)]);
    } catch (error) {
      this.#log.error({ err: error }, "claim failed");
    } finally {
      this.#reserved -= want;
    }
    this.#afterClaim(step, want);
  }

  /** What a claim's step says: jobs to start, when to look again, and for a --burst worker whether it is done. */
  #afterClaim(step: Step | undefined, wanted: number, behindWait = false): void {
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
        // a claim behind the wait ran on the other connection, maybe before this worker's last report scheduled a
        // retry: a claim on this one, after every write of the worker, decides
        if (behindWait) {
          void this.#fill();
          return;
        }
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
    if (this.#blocking.waiting || !this.accepting) return;
    const want = Math.max(0, this.#free());
    this.#reserved += want;
    let step: Step | undefined;
    try {
      const untilDue = this.#nextDueAt === null ? Infinity : this.#nextDueAt - Date.now();
      step = await this.#blocking.block(this.#claimCall(want, true), Math.min(untilDue, this.#opts.idleBlockMs));
    } finally {
      this.#reserved -= want;
    }
    if (step) this.#afterClaim(step, want, true);
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
    if (this.#blocking.waiting) {
      try {
        await this.#whileStopping(this.#redis.run([this.#heartbeat.renewal(Date.now())]));
      } catch (error) {
        this.#log.warn({ err: (error as Error).message }, "could not record the stop in the worker's entry");
      }
      await this.#blocking.settle();
    }
    this.#blocking.close();
  }

  async #start(job: Job): Promise<void> {
    const running = new Running(job, Date.now() + job.timeoutMs, this.#context);
    // claimed again while it still runs here: the lease of the earlier claim ran out (this worker was frozen)
    if (this.#running.has(job.id)) this.#executor.interrupt(this.#running.get(job.id)!.lost(), "lost");
    this.#running.set(job.id, running);
    this.#deadlines.arm(running.deadline);
    this.#heartbeat.schedule();
    running.logStart();
    const end = await this.#executor.run(running);
    if ("suspended" in end) {
      // suspend.lua moved the job on (ctx.sleep): its slot is free for the next
      running.logSuspended();
      running.span.end("suspended");
      forget(this.#running, running);
      if (this.accepting) void this.#fill();
      return;
    }
    const outcome = running.explain(end, !this.#executor.stops);
    running.logEnd(outcome);
    this.#report(running, outcome);
  }

  /**
   * Takes a job's outcome to report. Alone, it goes at once; beside other
   * running jobs it waits for the end of this turn of the event loop, so
   * that the jobs ending in it are reported, and their successors claimed,
   * in one script call.
   */
  #report(running: Running, outcome: Outcome): void {
    forget(this.#running, running);
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
    const next = want > 0 ? this.#wants(want) : undefined;
    const report = new Report(this.keys, batch, base, next, () => this.#claimCall(want));
    const { calls, jobIds } = report;
    this.#reserved += want;
    this.#reporting++;
    let steps: Step[] = [];
    try {
      const sent = calls.length > 0 ? this.#redis.runReplicated(calls, 10, this.#waits) : Promise.resolve(undefined);
      const [replies, behind] = (await this.#whileStopping(sent, jobIds)) ?? [];
      steps = report.steps(replies);
      // the lease of a job whose ending a failover undoes brings it back: it runs again
      if (behind) this.#log.warn({ jobIds, behind }, "job endings reported but not yet on enough replicas");
    } catch (error) {
      // their leases run out and recovery retries them: nothing is lost
      this.#log.error({ jobIds, err: error }, "could not report the outcomes of jobs");
    } finally {
      this.#reserved -= want;
      this.#reporting--;
    }
    // the script put the callback in the outbox: this worker takes it first
    if (report.settle(steps, this.#log)) this.#outbox.poke();
    if (want > 0) this.#afterClaim(steps.at(-1), want);
    this.#maybeExit();
  }

  /**
   * While the worker runs, waits for a write however long Redis is away (it
   * is held and sent when Redis is back). A stopping worker waits a bounded
   * time: a shutdown must end, and an outcome it could not write is left to
   * lease recovery, as at-least-once delivery promises.
   */
  #whileStopping<T>(write: Promise<T>, jobIds: string[] = []): Promise<T | undefined> {
    // not an async function: a running worker's writes take no extra turn through it
    if (this.accepting) return write;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        if (jobIds.length > 0) {
          this.#unwritten += jobIds.length;
          this.#log.warn({ jobIds }, "Redis is unreachable: the jobs' outcomes are left to lease recovery");
        }
        resolve(undefined);
      }, this.#opts.killGraceMs + SHUTDOWN_WRITES_MS);
    });
    return Promise.race([write, late]).finally(() => clearTimeout(timer));
  }

  #maybeExit(): void {
    // the claim behind a wait may yet bring jobs, and ended jobs may wait to be reported
    const busy = this.#running.size > 0 || this.#blocking.waiting || this.#ended.length > 0 || this.#reporting > 0;
    if (this.accepting || busy || this.#state === "stopped") return;
    this.#state = "stopped";
    void this.#close();
  }

  async #close(): Promise<void> {
    this.#heartbeat.close();
    this.#deadlines.close();
    this.#executor.close();
    this.#blocking.close();
    this.#control.disconnect();
    // deliveries in flight finish (within the bound); those not taken stay in the outbox for others
    const delivered = await this.#outbox.close(this.#opts.killGraceMs + SHUTDOWN_WRITES_MS);
    // with Redis away, the entry expires on its own: nothing is waited for
    const redis = this.#redis.connection;
    if (redis.status === "ready") {
      const removed = redis.multi().zrem(this.keys.workers(), this.name).del(this.keys.worker(this.name)).exec();
      try {
        await this.#whileStopping(removed);
      } catch (error) {
        this.#log.warn({ err: (error as Error).message }, "could not remove the worker entry");
      }
    }
    redis.disconnect();
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
