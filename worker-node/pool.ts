// Horses, kept ready: the task module is compiled once (with the horse's own
// code, into one plain-JavaScript file), and spare horses are forked ahead of
// time so that a job never waits for Node to boot.
import { fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, stop as stopEsbuild } from "esbuild";
import type { Logger } from "pino";
import type { Job } from "../shared/index.ts";
import type { FromHorse, ToHorse } from "./horse.ts";
import type { Outcome } from "./task.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
// Inside the project's node_modules, so the horse resolves the packages it
// requires at run time (pino) exactly as the worker does.
const CACHE_DIR = resolve(HERE, "../node_modules/.cache/edgeq");

/** Bundles the horse with the task module; returns the path of the .mjs file. */
export async function compileHorse(tasksPath: string): Promise<string> {
  const entry = [
    `import * as tasks from ${JSON.stringify(resolve(tasksPath))};`,
    `import { serveJobs } from ${JSON.stringify(resolve(HERE, "horse.ts"))};`,
    `serveJobs(tasks);`,
  ].join("\n");
  const output = await build({
    stdin: { contents: entry, resolveDir: process.cwd(), loader: "ts", sourcefile: "horse-entry.ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // bundled CommonJS dependencies call require(); give them a real one
    banner: { js: `import { createRequire as __edgeqRequire } from "node:module"; const require = __edgeqRequire(import.meta.url);` },
    // The map lets a failed job's stack name the task's own file and line
    // (horse.ts reads it only then: --enable-source-maps would parse it at
    // every boot). Its paths are relative to where the bundle is written.
    sourcemap: "external",
    outfile: resolve(CACHE_DIR, "horse.mjs"),
    write: false,
    logLevel: "silent",
  });
  // the one build a worker makes: its service process need not outlive it
  await stopEsbuild();
  const code = output.outputFiles.find((f) => f.path.endsWith(".mjs"))!.contents;
  const map = output.outputFiles.find((f) => f.path.endsWith(".map"))!.contents;
  const file = resolve(CACHE_DIR, `horse-${createHash("sha256").update(code).update(map).digest("hex").slice(0, 16)}.mjs`);
  await mkdir(CACHE_DIR, { recursive: true });
  // write then rename, so a worker starting beside us never forks a half-written file
  for (const [path, contents] of [[`${file}.map`, map], [file, code]] as const) {
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, contents);
    await rename(partial, path);
  }
  return file;
}

/** The worker's handle on one horse process. */
export class Horse {
  readonly process: ChildProcess;
  /** Resolves once the task module is loaded; rejects if the horse dies first. */
  readonly ready: Promise<void>;
  served = 0;
  #settle: ((outcome: Outcome | null) => void) | undefined;
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
        else if (message.type === "done") this.#deliver(message.outcome);
      });
      this.process.once("error", rejectReady);
      // "close" comes after stderr has drained, so the tail names the cause
      this.process.once("close", (code, signal) => {
        this.#exit = this.#describeExit(code, signal);
        rejectReady(new Error(this.#exit));
        this.#deliver({ ok: false, retryable: true, error: { name: "HorseCrashedError", message: this.#exit } });
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
  run(job: Job): Promise<Outcome | null> {
    this.served++;
    return new Promise((resolveOutcome) => {
      this.#settle = resolveOutcome;
      this.process.send({ type: "run", job } satisfies ToHorse, (error) => {
        if (!error) return;
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
    settle?.(outcome);
  }

  #describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const oom = /heap out of memory/i.test(this.#stderrTail) ? " (out of memory)" : "";
    const last = this.#stderrTail.trim().split("\n").pop();
    return `the horse (pid ${this.process.pid}) ${how}${oom}${last ? `: ${last}` : ""}`;
  }
}

/**
 * Ready horses for `size` slots (the worker's concurrency). A horse serves up
 * to `maxJobs` jobs before it is retired. Each slot has a fresh spare booted
 * ahead, started when the slot's current horse took its first job, so a
 * successor has its predecessor's whole life to boot, not just its last job.
 */
export class HorsePool {
  /** Horses that have served and will serve again, most recently used first. */
  #idle: Horse[] = [];
  /** Fresh horses, booting or ready, that take over from horses that retire. */
  #spares: Horse[] = [];
  #closed = false;

  constructor(
    readonly bundle: string,
    readonly size: number,
    readonly maxJobs: number,
    readonly logger: Logger,
  ) {}

  fill(): void {
    while (!this.#closed && this.#spares.length < this.size) this.#spares.push(new Horse(this.bundle));
  }

  async take(): Promise<Horse> {
    for (let tries = 1; ; tries++) {
      // a horse in service first: a spare stays spare until a horse retires
      const horse = this.#idle.shift() ?? this.#spares.shift() ?? new Horse(this.bundle);
      // forking blocks the event loop for milliseconds: fork the successor
      // once this job is on its way to the horse, not before
      setImmediate(() => this.fill());
      try {
        await horse.ready;
        return horse;
      } catch (error) {
        this.logger.error({ err: error }, "a horse died while booting");
        if (tries >= 3) throw error;
      }
    }
  }

  release(horse: Horse): void {
    const usable = !this.#closed && horse.alive && horse.served < this.maxJobs;
    // one that has not served yet (it proved the task module loads) is still a spare
    const shelf = horse.served === 0 ? this.#spares : this.#idle;
    if (usable && shelf.length < this.size) shelf.unshift(horse);
    else horse.retire();
  }

  close(): void {
    this.#closed = true;
    for (const horse of [...this.#idle.splice(0), ...this.#spares.splice(0)]) horse.retire();
  }
}
