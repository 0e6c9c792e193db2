// The worker's side of a horse: one child process that runs the worker's
// jobs (child.ts is the other side), and the messages between the two.
//
// Over the IPC channel:
//   horse → worker  { type: "ready" }                       tasks loaded
//   worker → horse  { type: "run", job }
//   horse → worker  { type: "done", id, outcome }
// The worker retires a horse by closing the channel; SIGTERM aborts the
// running job's signal and ends the horse once the task settles.
import { fork, type ChildProcess } from "node:child_process";
import type { Job } from "../../shared/index.ts";
import type { ProgressUpdate } from "../../shared/scripts/index.ts";
import type { Outcome } from "../task.ts";

export type ToHorse = { type: "run"; job: Job };
export type FromHorse =
  | { type: "ready" }
  | { type: "progress"; id: string; update: ProgressUpdate }
  | { type: "done"; id: string; outcome: Outcome };

/** The worker's handle on one horse process. */
export class Horse {
  readonly process: ChildProcess;
  /** Resolves once the task module is loaded; rejects if the horse dies first. */
  readonly ready: Promise<void>;
  served = 0;
  #settle: ((outcome: Outcome | null) => void) | undefined;
  /** The running job was written to the horse's channel: a crash from now on is the job's. */
  #sent = false;
  #onProgress: ((update: ProgressUpdate) => void) | undefined;
  #exit: string | undefined;
  #stderrTail = "";

  constructor(bundle: string) {
    // our own execArgv drops the TypeScript loader a tsx-run worker would pass on
    this.process = fork(bundle, [], { execArgv: [], stdio: ["ignore", "inherit", "pipe", "ipc"] });
    this.process.stderr!.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.#stderrTail = (this.#stderrTail + chunk.toString()).slice(-2000);
    });
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.process.on("message", (message: FromHorse) => {
        if (message.type === "ready") resolveReady();
        else if (message.type === "progress") this.#onProgress?.(message.update);
        else if (message.type === "done") this.#deliver(message.outcome);
      });
      this.process.once("error", rejectReady);
      // "close" comes after stderr has drained, so the tail names the cause
      this.process.once("close", (code, signal) => {
        this.#exit = this.#describeExit(code, signal);
        rejectReady(new Error(this.#exit));
        // dead before its job was even written (killed while it waited as a
        // spare, its exit seen late): the job never started, it is not at fault
        this.#deliver(
          this.#sent ? { ok: false, retryable: true, error: { name: "HorseCrashedError", message: this.#exit } } : null,
        );
      });
    });
    this.ready.catch(() => {});
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /**
   * Runs one job; resolves with its outcome, a HorseCrashedError if the horse
   * dies, or null if the job could not even be sent: the horse died while it
   * waited in the pool, before its exit was noticed, and the job never started.
   */
  run(job: Job, onProgress: (update: ProgressUpdate) => void): Promise<Outcome | null> {
    this.served++;
    this.#onProgress = onProgress;
    this.#sent = false;
    return new Promise((resolveOutcome) => {
      this.#settle = resolveOutcome;
      this.process.send({ type: "run", job } satisfies ToHorse, (error) => {
        if (!error) {
          this.#sent = true;
          return;
        }
        this.#exit ??= `the horse (pid ${this.process.pid}) could not be sent its job: ${error.message}`;
        this.#deliver(null);
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  terminate(graceMs: number): void {
    if (!this.alive) return;
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
    timer.unref();
    this.process.once("close", () => clearTimeout(timer));
  }

  /** Lets an idle horse exit on its own. */
  retire(): void {
    if (this.process.connected) this.process.disconnect();
  }

  #deliver(outcome: Outcome | null): void {
    const settle = this.#settle;
    this.#settle = undefined;
    this.#onProgress = undefined;
    settle?.(outcome);
  }

  #describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const oom = /heap out of memory/i.test(this.#stderrTail) ? " (out of memory)" : "";
    const last = this.#stderrTail.trim().split("\n").pop();
    return `the horse (pid ${this.process.pid}) ${how}${oom}${last ? `: ${last}` : ""}`;
  }
}
