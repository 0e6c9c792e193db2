// A horse that is a child process (--isolation process): the strongest
// isolation Node has. A crash, a native fault or a leak ends the horse and
// never the worker, and a hung task ends with SIGKILL.
import { fork, type ChildProcess } from "node:child_process";
import { Horse, type FromHorse, type HorseOptions, type ToHorse } from "./horse.ts";

// What V8 prints just before it aborts a process whose heap is full. A native
// stack trace of some lines follows it, so it is looked for as the output
// comes, not in the tail kept for the exit's description.
const OUT_OF_MEMORY = /heap out of memory|Fatal JavaScript OOM|Fatal process out of memory/i;

export class ProcessHorse extends Horse {
  readonly #child: ChildProcess;
  #stderrTail = "";
  #outOfMemory = false;

  constructor(bundle: string, options: HorseOptions) {
    super(options);
    this.#child = fork(bundle, [], {
      env: options.env,
      // Our own execArgv drops the TypeScript loader a tsx-run worker would
      // pass on. The ceiling is V8's old space, where a task's objects live.
      execArgv: options.maxMemoryMb === null ? [] : [`--max-old-space-size=${options.maxMemoryMb}`],
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    this.#child.stderr!.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      const seen = this.#stderrTail.slice(-200) + chunk.toString();
      if (OUT_OF_MEMORY.test(seen)) this.#outOfMemory = true;
      this.#stderrTail = (this.#stderrTail + chunk.toString()).slice(-2000);
    });
    this.#child.on("message", (message: FromHorse) => this.received(message));
    // a fork that failed (no pid) may never emit "close"
    this.#child.on("error", (error) => {
      if (this.#child.pid === undefined)
        this.exited({ description: `a horse could not start: ${error.message}`, outOfMemory: false });
    });
    this.#child.once("exit", () => this.gone());
    // "close" comes after stderr has drained and after the last message, so
    // the tail names the cause and a "retiring" sent just before is known
    this.#child.once("close", (code, signal) => this.exited(this.#describeExit(code, signal)));
  }

  get label(): string {
    return `the horse (pid ${this.#child.pid})`;
  }

  protected send(message: ToHorse, written: (error: Error | null) => void): void {
    this.#child.send(message, written);
  }

  /** SIGTERM, which aborts the running job's signal; SIGKILL if it has not exited after graceMs. */
  terminate(graceMs: number): void {
    if (!this.alive) return;
    this.#child.kill(graceMs > 0 ? "SIGTERM" : "SIGKILL");
    if (graceMs === 0) return;
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    timer.unref();
    this.#child.once("close", () => clearTimeout(timer));
  }

  /** Closing the channel lets the horse exit once it is idle. */
  retire(): void {
    if (this.#child.connected) this.#child.disconnect();
  }

  #describeExit(code: number | null, signal: NodeJS.Signals | null): { description: string; outOfMemory: boolean } {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.#outOfMemory) {
      return { description: `${this.label} ran out of memory: its heap reached ${this.ceiling()}`, outOfMemory: true };
    }
    const last = this.#stderrTail.trim().split("\n").pop();
    return { description: `${this.label} ${how}${last ? `: ${last}` : ""}`, outOfMemory: false };
  }
}
