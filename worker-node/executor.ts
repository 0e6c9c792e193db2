// Where a worker's jobs run: in horses (child processes or worker threads,
// kept ready by a HorsePool), or inline, in the worker's own process (rq's
// SimpleWorker). The worker holds one executor and asks it the same things
// whichever it is.
import type { Logger } from "pino";
import { DEFAULTS } from "../shared/defaults.ts";
import type { TaskDescription } from "../shared/tasks.ts";
import { compileHorse } from "./horse/bundle.ts";
import { horseEnv, type Horse, type HorseOptions } from "./horse/horse.ts";
import { HorsePool } from "./horse/pool.ts";
import { ProcessHorse } from "./horse/process.ts";
import { ThreadHorse } from "./horse/thread.ts";
import type { Settings } from "./options.ts";
import { tracingEnvNames } from "./tracing.ts";
import type { Interrupter, Interruption, Running } from "./running.ts";
import { describeTasks, runTask, tasksOf, type Outcome, type RunEnd, type TaskEntry, type TaskModule } from "./task.ts";

export interface Executor extends Interrupter {
  /** False: an interrupt can only ask a task to end (ctx.signal), which ends when it settles. */
  readonly stops: boolean;
  /** Loads the task module (the worker stops if it cannot) and says which tasks it defines, to declare. */
  start(): Promise<TaskDescription[]>;
  run(running: Running): Promise<RunEnd>;
  /**
   * Ends a running job early: its signal is aborted, its horse terminated;
   * an inline task keeps its slot until it settles.
   */
  interrupt(running: Running, why: Interruption): void;
  close(): void;
}

/** What the executors take of the worker's settings. */
export type ExecutorOptions = Pick<
  Settings,
  "tasks" | "isolation" | "concurrency" | "horseMaxJobs" | "horseMaxMemoryMb" | "horseEnv" | "killGraceMs"
>;

/** The executor `options.isolation` names; `worker` says whether it still takes jobs. */
export function executorFor(options: ExecutorOptions, worker: { readonly accepting: boolean }, log: Logger): Executor {
  return options.isolation === "inline"
    ? new InlineExecutor(options.tasks, log)
    : new HorseExecutor(options, worker, log);
}

/** Each job in a horse, which an interrupt terminates. */
class HorseExecutor implements Executor {
  readonly stops = true;
  #pool: HorsePool | undefined;

  constructor(
    readonly options: ExecutorOptions,
    readonly worker: { readonly accepting: boolean },
    readonly log: Logger,
  ) {}

  async start(): Promise<TaskDescription[]> {
    const { tasks, isolation, concurrency, horseMaxJobs } = this.options;
    const bundle = await compileHorse(tasks);
    const options: HorseOptions = {
      env: horseEnv([...DEFAULTS.horseEnv, ...this.options.horseEnv, ...tracingEnvNames()]),
      maxMemoryMb: this.options.horseMaxMemoryMb,
      logger: this.log,
    };
    const Kind = isolation === "thread" ? ThreadHorse : ProcessHorse;
    // a first horse proves the task module loads (or the worker stops here)
    // and says which tasks it defines, for the worker to declare
    const probe = new Kind(bundle, options);
    let described: TaskDescription[];
    try {
      await probe.ready;
      described = await probe.describe();
    } finally {
      probe.retire();
    }
    this.#pool = new HorsePool(() => new Kind(bundle, options), concurrency, horseMaxJobs, this.log);
    this.#pool.fill();
    return described;
  }

  async run(running: Running): Promise<RunEnd> {
    const pool = this.#pool!;
    for (;;) {
      let horse: Horse;
      try {
        horse = await pool.take();
      } catch (error) {
        return { ok: false, retryable: true, error: { name: "HorseCrashedError", message: (error as Error).message } };
      }
      running.horse = horse;
      // interrupted while it waited for a horse to be ready
      if (running.interrupted) this.#terminate(running);
      const outcome = await horse.run(running.job, running, running.span.traceparent);
      if (!running.interrupted) pool.release(horse);
      // a horse killed before its last job had no successor booted for it
      else if (this.worker.accepting) pool.fill();
      // null: the horse was dead before the job reached it; the job is not at fault
      if (outcome) return outcome;
    }
  }

  interrupt(running: Running, why: Interruption): void {
    if (running.interrupt(why)) this.#terminate(running);
  }

  /** Ends an interrupted job's horse: after the kill grace, or at once in a cold shutdown. */
  #terminate(running: Running): void {
    running.horse?.terminate(running.interrupted === "shutdown" ? 0 : this.options.killGraceMs);
  }

  close(): void {
    this.#pool?.close();
  }
}

/** What a cold shutdown answers for an inline task it stops waiting for. */
const ABANDONED: Outcome = {
  ok: false,
  retryable: true,
  error: { name: "AbortError", message: "abandoned by a cold shutdown" },
};

/**
 * Inline isolation (rq's SimpleWorker): the task runs in the worker's own
 * process. JavaScript cannot stop a running function, so a task past its
 * timeout, or asked to stop, has its signal aborted and keeps its slot
 * until it settles: --concurrency holds, and the job's outcome is written
 * when the task has really ended, never while it still runs. A cold
 * shutdown alone stops waiting: the worker's exit ends the task.
 */
class InlineExecutor implements Executor {
  readonly stops = false;
  #tasks = new Map<string, TaskEntry>();

  constructor(
    readonly tasks: string,
    readonly log: Logger,
  ) {}

  async start(): Promise<TaskDescription[]> {
    this.#tasks = tasksOf((await import(this.tasks)) as TaskModule);
    return describeTasks(this.#tasks);
  }

  run(running: Running): Promise<RunEnd> {
    return new Promise((settle) => {
      running.abandon = settle;
      running.span.run(() => runTask(this.#tasks, running.job, running)).then(settle);
    });
  }

  interrupt(running: Running, why: Interruption): void {
    if (!running.interrupted && why !== "shutdown") {
      this.log.warn(
        { jobId: running.job.id, why },
        "an inline task cannot be stopped, only asked through ctx.signal: its slot stays taken until it settles",
      );
    }
    if (running.interrupt(why) && why === "shutdown") running.abandon?.(ABANDONED);
  }

  close(): void {}
}
