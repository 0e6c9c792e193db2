// Every process the bench starts, and the one way to stop them all, even on
// an error or Ctrl-C. Children are started in their own process group, so a
// worker's horses (or BullMQ's sandbox children) go down with it, and so a
// Ctrl-C in the terminal does not reach them before the bench can stop them
// in order.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { progress, sleep } from "./util.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Something that must not outlive the bench. */
export interface Resource {
  stop(): Promise<void>;
  /** Last resort, synchronous (from the process "exit" handler). */
  killNow(): void;
}

const live = new Set<Resource>();
let stopping: Promise<void> | undefined;

export function track<T extends Resource>(resource: T): T {
  live.add(resource);
  return resource;
}

export function untrack(resource: Resource): void {
  live.delete(resource);
}

/**
 * Stops everything still running, newest first (workers before their Redis).
 * Concurrent calls (the finally block and a Ctrl-C) share one pass, so
 * neither exits the process while the other is half done.
 */
export function stopAll(): Promise<void> {
  stopping ??= (async () => {
    while (live.size > 0) {
      for (const resource of [...live].reverse()) {
        try {
          await resource.stop();
        } catch (error) {
          progress(`cleanup: ${(error as Error).message}`);
          resource.killNow();
        }
        live.delete(resource);
      }
    }
  })().finally(() => (stopping = undefined));
  return stopping;
}
export function killAllNow(): void {
  for (const resource of live) resource.killNow();
  live.clear();
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface ChildOptions {
  env?: Record<string, string>;
  /** Open an IPC channel (hosts report their URL over it). */
  ipc?: boolean;
}

/** A process the bench started: its output goes to stderr, prefixed. */
export class Child implements Resource {
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
  #tail = "";

  constructor(
    readonly label: string,
    args: string[],
    options: ChildOptions = {},
  ) {
    this.process = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe", ...(options.ipc ? (["ipc"] as const) : [])],
    });
    for (const stream of [this.process.stdout!, this.process.stderr!]) {
      stream.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        this.#tail = (this.#tail + text).slice(-4000);
        process.stderr.write(text.replace(/^(?=.)/gm, `  [${label}] `));
      });
    }
    this.exited = once(this.process, "exit").then(() => undefined);
    track(this);
  }

  get pid(): number {
    return this.process.pid!;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The end of its output, to explain a failure. */
  get tail(): string {
    return this.#tail.trim().split("\n").slice(-8).join("\n");
  }

  /**
   * Freezes the process (not its children): an idle worker stays blocked in
   * Redis but sends nothing and takes no CPU while another one is measured.
   */
  pause(): void {
    if (this.running) this.process.kill("SIGSTOP");
  }

  resume(): void {
    if (this.running) this.process.kill("SIGCONT");
  }

  /** The first IPC message that passes the test, or an error if the process exits first. */
  // biome-ignore lint/suspicious/noExplicitAny: a type guard over whatever a child sends
  message<T>(test: (message: any) => message is T, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.label}: no message after ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: unknown) => {
        if (test(message)) done(undefined, message);
      };
      const onExit = () => done(new Error(`${this.label} exited before it was ready:\n${this.tail}`));
      const done = (error?: Error, message?: T) => {
        clearTimeout(timer);
        this.process.off("message", onMessage);
        this.process.off("exit", onExit);
        if (error) reject(error);
        else resolve(message!);
      };
      this.process.on("message", onMessage);
      this.process.once("exit", onExit);
    });
  }

  /** SIGTERM (a worker's warm shutdown), then SIGKILL for the whole group. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.running) {
      signalGroup(this.pid, "SIGCONT");
      this.process.kill("SIGTERM");
      const stopped = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!stopped) progress(`${this.label} did not stop within ${graceMs} ms; killing it`);
    }
    // anything of its group still alive (a horse mid-boot) goes too
    signalGroup(this.pid, "SIGKILL");
    await this.exited;
    untrack(this);
  }

  killNow(): void {
    signalGroup(this.pid, "SIGCONT");
    signalGroup(this.pid, "SIGKILL");
  }
}

/** A TypeScript entry run the way the project runs its own: node with the tsx loader. */
export function tsArgs(file: string, args: string[] = []): string[] {
  return ["--import", "tsx", file, ...args];
}

/**
 * A server the bench runs in its own process (the gateway, the edge app), so
 * it does not share an event loop with the load generator. It reports
 * `{ url }` when listening, or `{ unavailable }` when it cannot run here.
 */
export async function startHost(
  label: string,
  file: string,
  env: Record<string, string>,
): Promise<{ url: string; child: Child }> {
  const child = new Child(label, tsArgs(file), { env: { LOG_LEVEL: "warn", ...env }, ipc: true });
  const reply = await child.message((m): m is { url?: string; unavailable?: string } =>
    Boolean(m?.url || m?.unavailable),
  );
  if (reply.unavailable) {
    await child.stop();
    throw new Unavailable(reply.unavailable);
  }
  return { url: reply.url!, child };
}

/** A case that cannot run in this checkout yet (a part not landed); reported, not fatal. */
export class Unavailable extends Error {
  override name = "Unavailable";
}
