// The worker's side of a horse, whatever its kind: a child process
// (process.ts) or a worker thread (thread.ts) that runs the worker's jobs;
// child.ts is the other side. This file spells the messages between the two
// and what both kinds share: handing a job over, and deciding whose fault a
// horse's death is.
//
// Over the channel (Node's IPC for a process, a MessagePort for a thread):
//   horse → worker  { type: "ready" }                       tasks loaded
//   worker → horse  { type: "describe" }                    once, from the worker's first horse
//   horse → worker  { type: "tasks", tasks }                each task's JSON Schema, to declare
//   worker → horse  { type: "run", job, traceparent? }   traceparent: the run's span, when it is traced
//   horse → worker  { type: "progress", id, update }        ctx.progress / ctx.setMeta
//   horse → worker  { type: "ask", seq, request }           ctx.step, ctx.dependencies: what only the worker can do
//   worker → horse  { type: "answer", seq, answer }         once Redis has answered
//   horse → worker  { type: "done", id, outcome }
//   horse → worker  { type: "retiring", stray? }            an error escaped a task: no more jobs
//   worker → horse  { type: "abort" }                       threads only (a process gets SIGTERM)
// A job without steps is one message each way: the smallest exchange there is.
import type { Logger } from "pino";
import type { Job, JobError } from "../../shared/index.ts";
import type { ProgressUpdate } from "../../shared/scripts/index.ts";
import type { TaskDescription } from "../../shared/tasks.ts";
import type { Answer, Ask, RunEnd, TaskHost } from "../task.ts";

export type ToHorse =
  | { type: "run"; job: Job; traceparent?: string }
  | { type: "abort" }
  | { type: "describe" }
  | { type: "answer"; seq: number; answer: Answer };
export type FromHorse =
  | { type: "ready" }
  | { type: "tasks"; tasks: TaskDescription[] }
  | { type: "progress"; id: string; update: ProgressUpdate }
  | { type: "ask"; seq: number; request: Ask }
  | { type: "done"; id: string; outcome: RunEnd }
  | { type: "retiring"; stray?: { error: JobError; lastJob?: string } };

/** How every horse of a worker is made. */
export interface HorseOptions {
  /** The horse's whole environment (see horseEnv). */
  env: Record<string, string>;
  /** Ceiling of the horse's JavaScript heap; null: V8's own. */
  maxMemoryMb: number | null;
  /** The worker's: for an error that escaped a task after its job ended, which no job can carry. */
  logger: Logger;
}

/**
 * The variables of the worker's environment a horse gets: `names` only, so
 * that REDIS_URL (with its password) and EDGEQ_* secrets stay in the worker
 * unless an operator lists them, and NODE_OPTIONS cannot load a loader or
 * flags into every horse.
 */
export function horseEnv(names: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

/** Why a horse ended: what the worker saw, and whether its heap ceiling did it. */
export interface HorseExit {
  description: string;
  outOfMemory: boolean;
}

/** The worker's handle on one horse. */
export abstract class Horse {
  /** Resolves once the task module is loaded; rejects if the horse dies first. */
  readonly ready: Promise<void>;
  served = 0;
  #readied!: () => void;
  #failed!: (error: Error) => void;
  #settle: ((outcome: RunEnd | null) => void) | undefined;
  /** The running job reached the horse's channel: a death from now on is the job's. */
  #sent = false;
  /** The running job's host on the worker's side: where its progress and its asks go. */
  #host: Pick<TaskHost, "report" | "ask"> | undefined;
  /** The running job's id: progress a task left behind to be sent after its job ended is not the next job's. */
  #jobId: string | undefined;
  #exit: string | undefined;
  /** The horse said it takes no more jobs; a job it was sent after that never ran. */
  #retiring = false;
  #gone = false;
  #describing: { resolve: (tasks: TaskDescription[]) => void; reject: (error: Error) => void } | undefined;

  protected constructor(protected readonly options: HorseOptions) {
    this.ready = new Promise((resolve, reject) => {
      this.#readied = resolve;
      this.#failed = reject;
    });
    this.ready.catch(() => {});
  }

  /** What names the horse in logs and messages: "the horse (pid 123)", "the thread horse (thread 4)". */
  abstract get label(): string;

  /** Lets an idle horse end on its own. */
  abstract retire(): void;

  /** Aborts the running job's signal; ends the horse outright if it has not ended after graceMs. */
  abstract terminate(graceMs: number): void;

  /** Writes a message to the horse; `written` gets an error if it could not be. */
  protected abstract send(message: ToHorse, written: (error: Error | null) => void): void;

  /** Alive and taking jobs. */
  get available(): boolean {
    return this.#exit === undefined && !this.#retiring && !this.#gone;
  }

  /**
   * The horse is known dead, before its exit is described (a process's last
   * output may still be draining): it gets no job from now on, since a job
   * written to a dead horse can look sent.
   */
  protected gone(): void {
    this.#gone = true;
  }

  protected get alive(): boolean {
    return this.#exit === undefined;
  }

  /**
   * Runs one job; resolves with its outcome, a HorseCrashedError or
   * HorseOutOfMemoryError if the horse dies, or null if the job never ran:
   * the horse died while it waited in the pool, before its exit was noticed,
   * or it was retiring.
   */
  run(job: Job, host: Pick<TaskHost, "report" | "ask">, traceparent?: string): Promise<RunEnd | null> {
    this.served++;
    this.#host = host;
    this.#jobId = job.id;
    this.#sent = false;
    return new Promise((resolveOutcome) => {
      this.#settle = resolveOutcome;
      this.send({ type: "run", job, ...(traceparent && { traceparent }) }, (error) => {
        if (!error) {
          this.#sent = true;
          return;
        }
        this.#exit ??= `${this.label} could not be sent its job: ${error.message}`;
        this.#deliver(null);
      });
    });
  }

  /** The tasks the horse's module defines, each with its args' JSON Schema: what the worker declares. */
  describe(): Promise<TaskDescription[]> {
    return new Promise((resolve, reject) => {
      this.#describing = { resolve, reject };
      this.send({ type: "describe" }, (error) => error && reject(error));
    });
  }

  /** A message from the horse. */
  protected received(message: FromHorse): void {
    if (message.type === "ready") this.#readied();
    else if (message.type === "tasks") this.#describing?.resolve(message.tasks);
    else if (message.type === "progress" && message.id === this.#jobId) this.#host?.report(message.update);
    else if (message.type === "ask") this.#answer(message.seq, message.request);
    else if (message.type === "done") this.#deliver(message.outcome);
    else if (message.type === "retiring") this.#retire(message.stray);
  }

  /** The horse is gone; its channel has delivered every message it sent. */
  protected exited({ description, outOfMemory }: HorseExit): void {
    this.#exit = description;
    this.#failed(new Error(description));
    this.#describing?.reject(new Error(description));
    // dead before its job was even written (killed while it waited as a
    // spare, its exit seen late), or it had said it would take no more: the
    // job never started, it is not at fault
    if (!this.#sent || this.#retiring) {
      this.#deliver(null);
      return;
    }
    const name = outOfMemory ? "HorseOutOfMemoryError" : "HorseCrashedError";
    this.#deliver({ ok: false, retryable: true, error: { name, message: description } });
  }

  /** The words for a heap ceiling that was reached. */
  protected ceiling(): string {
    const { maxMemoryMb } = this.options;
    return maxMemoryMb === null ? "V8's default heap limit" : `its ${maxMemoryMb} MB ceiling (--horse-max-memory-mb)`;
  }

  #answer(seq: number, request: Ask): void {
    const host = this.#host;
    if (!host) return;
    void host.ask(request).then((answer) => {
      // the job may have ended meanwhile (a timeout): its horse no longer waits for this
      // a horse that died meanwhile is noticed by its exit: nothing to do for a lost answer
      if (this.#host === host && this.alive) this.send({ type: "answer", seq, answer }, () => {});
    });
  }

  #retire(stray: { error: JobError; lastJob?: string } | undefined): void {
    this.#retiring = true;
    if (stray) {
      this.options.logger.error(
        { horse: this.label, lastJob: stray.lastJob, err: stray.error },
        "an error escaped a task after its job ended; the horse retires",
      );
    }
  }

  #deliver(outcome: RunEnd | null): void {
    const settle = this.#settle;
    this.#settle = undefined;
    this.#host = undefined;
    settle?.(outcome);
  }
}
