// A horse that is a worker thread (--isolation thread): a V8 isolate of its
// own in the worker's process. It boots about as long as a process does (Node
// sets up a whole environment per thread), but a job reaches it without a
// pipe between processes; terminate() stops even a busy loop, and
// resourceLimits caps its heap. What it cannot do is outlive the worker's own
// faults: a native crash in a thread ends the whole process, and it shares the
// process's file descriptors, user and /proc/self.
import { Worker } from "node:worker_threads";
import { Horse, type FromHorse, type HorseOptions, type ToHorse } from "./horse.ts";

export class ThreadHorse extends Horse {
  readonly #thread: Worker;
  /** Kept: the thread's own reads -1 once it has exited, when its exit is described. */
  readonly #threadId: number;
  #error: (Error & { code?: string }) | undefined;

  constructor(bundle: string, options: HorseOptions) {
    super(options);
    this.#thread = new Worker(bundle, {
      env: options.env,
      // not the worker's own flags, which may load a TypeScript loader
      execArgv: [],
      ...(options.maxMemoryMb === null ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb } }),
    });
    this.#threadId = this.#thread.threadId;
    this.#thread.on("message", (message: FromHorse) => this.received(message));
    // an error that ends the thread: its heap ceiling, or a task module that cannot load
    this.#thread.on("error", (error) => (this.#error = error));
    // "exit" comes after every message the thread sent has been delivered
    this.#thread.once("exit", (code) => this.exited(this.#describeExit(code)));
  }

  get label(): string {
    return `the thread horse (thread ${this.#threadId})`;
  }

  protected send(message: ToHorse, written: (error: Error | null) => void): void {
    try {
      this.#thread.postMessage(message);
      written(null);
    } catch (error) {
      written(error as Error);
    }
  }

  /** Aborts the running job's signal (threads get no signals); terminate() if it has not ended after graceMs. */
  terminate(graceMs: number): void {
    if (!this.alive) return;
    if (graceMs === 0) {
      void this.#thread.terminate();
      return;
    }
    this.#thread.postMessage({ type: "abort" } satisfies ToHorse);
    const timer = setTimeout(() => void this.#thread.terminate(), graceMs);
    timer.unref();
    this.#thread.once("exit", () => clearTimeout(timer));
  }

  /** An idle thread has nothing to finish: it ends at once. */
  retire(): void {
    void this.#thread.terminate();
  }

  #describeExit(code: number): { description: string; outOfMemory: boolean } {
    if (this.#error?.code === "ERR_WORKER_OUT_OF_MEMORY") {
      return { description: `${this.label} ran out of memory: its heap reached ${this.ceiling()}`, outOfMemory: true };
    }
    const cause = this.#error ? `: ${this.#error.name}: ${this.#error.message}` : "";
    return { description: `${this.label} exited with code ${code}${cause}`, outOfMemory: false };
  }
}
