// Real worker processes for integration tests. A worker is started the way an
// operator starts one, `node --import tsx worker-node/main.ts …`, spawned
// without a shell or a tsx CLI wrapper so that the child's pid is the worker's
// own, and in a process group of its own so that the worker and every horse
// it forked can be signalled (a terminal's Ctrl-C) or killed together.
//
// `test` is vitest's test with a `workers` fixture: every worker a test starts
// is killed, horses included, when that test ends, pass or fail, even when
// the file's tests run concurrently.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, test as base } from "vitest";
import { Queue } from "../../shared/index.ts";
import { until } from "./until.ts";

export { until };

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The task module the tests' workers load unless told otherwise. */
export const FIXTURE_TASKS = "test/fixtures/tasks.ts";

/**
 * Short leases and passes, so that recovery happens within a test. The
 * heartbeat is short too: an idle worker runs the maintenance pass only
 * with its heartbeat, however short EDGEQ_MAINTENANCE_MS is.
 */
export const FAST_ENV = {
  EDGEQ_LEASE_MS: "1000",
  EDGEQ_MAINTENANCE_MS: "300",
  EDGEQ_HEARTBEAT_MS: "300",
  EDGEQ_KILL_GRACE_MS: "300",
  LOG_LEVEL: "warn",
};

export interface WorkerSpec {
  /** The test's own client on the same server, to watch the worker register. */
  redis: Redis;
  redisUrl: string;
  prefix: string;
  /** --queues, in priority order; default ["default"]. */
  queues?: string[];
  /** Further flags: --concurrency 3, --burst, --isolation inline … */
  flags?: string[];
  /** The task module; default the fixtures. */
  tasks?: string;
  /** Overrides of FAST_ENV. */
  env?: Record<string, string>;
  /** Return before the worker has registered (a --burst worker may be gone by then). */
  noWait?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

let workerCount = 0;

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly name: string;
  readonly exited: Promise<Exit>;
  #output = "";

  constructor(readonly spec: WorkerSpec) {
    this.name = `test-${spec.prefix}-${++workerCount}`;
    const args = [
      "--import",
      "tsx",
      "worker-node/main.ts",
      "--name",
      this.name,
      "--queues",
      (spec.queues ?? ["default"]).join(","),
      "--tasks",
      spec.tasks ?? FIXTURE_TASKS,
      ...(spec.flags ?? []),
    ];
    this.child = spawn(process.execPath, args, {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...FAST_ENV, ...spec.env, REDIS_URL: spec.redisUrl, EDGEQ_PREFIX: spec.prefix },
    });
    this.pid = this.child.pid!;
    live.add(this);
    // horses inherit these pipes: keep draining them, and keep the tail for failure messages
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.on("data", (chunk: Buffer) => (this.#output = (this.#output + chunk.toString()).slice(-20_000)));
    }
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    void this.exited.then(() => live.delete(this));
  }

  /** What the worker and its horses printed (warnings and errors only, at LOG_LEVEL=warn). */
  get output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Until the worker's entry is in Redis: it has compiled its tasks, booted a horse and heartbeaten. */
  async registered(timeoutMs = 15_000): Promise<void> {
    const queue = new Queue(this.spec.queues?.[0] ?? "default", { redis: this.spec.redis, prefix: this.spec.prefix });
    await until(`worker ${this.name} to register`, timeoutMs, async () => {
      if (!this.running) throw new Error(`the worker exited before registering:\n${this.#output}`);
      const { workers } = await queue.info();
      return workers.some((w) => w.name === this.name && w.pid === this.pid);
    });
  }

  /** Signals the worker process alone, as `kill` or a process manager does. */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  /** Signals the worker and its horses, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.pid, signal);
  }

  async waitExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`worker ${this.name} still running after ${timeoutMs} ms:\n${this.#output}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL to the worker and every horse in its group; resolves once they are all gone. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // the whole group is gone already
    }
    await this.exited;
    await until(`the processes of worker ${this.name} to exit`, 5_000, () => groupMembers(this.pid).length === 0);
  }

  /**
   * SIGKILL to the worker alone, as the OOM killer or `kill -9` would; resolves
   * once its horses, which lose their channel to it, have ended by themselves.
   */
  async killAlone(): Promise<void> {
    process.kill(this.pid, "SIGKILL");
    await this.exited;
    await until(`the horses of killed worker ${this.name} to end`, 10_000, () => groupMembers(this.pid).length === 0);
  }
}

/** Every worker not yet exited, so that none outlives the test run. */
const live = new Set<WorkerProcess>();
process.once("exit", () => {
  for (const worker of live) {
    try {
      process.kill(-worker.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

/** The workers one test starts; all killed when it ends. */
export class Workers {
  readonly #started: WorkerProcess[] = [];

  async start(spec: WorkerSpec): Promise<WorkerProcess> {
    const worker = new WorkerProcess(spec);
    this.#started.push(worker);
    if (!spec.noWait) await worker.registered();
    return worker;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.#started.splice(0).map((w) => w.kill()));
  }
}

// biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from this pattern
export const test = base.extend("workers", async ({}, { onCleanup }) => {
  const workers = new Workers();
  onCleanup(() => workers.killAll());
  return workers;
});

/** /proc/<pid>/stat: a process's state and process group; null once it is gone. */
function stat(pid: number): { state: string; pgrp: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses
  const [state, , pgrp] = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: state!, pgrp: Number(pgrp) };
}

/**
 * Whether a process is running. A zombie counts as gone: a horse orphaned by
 * its killed worker is re-parented to an init that may reap it late.
 */
export function isAlive(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== "Z" && s.state !== "X";
}

/** The live processes of a process group. */
function groupMembers(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => stat(pid)?.pgrp === pgid && isAlive(pid));
}

/** A worker's live horses (its process group holds esbuild's service process too). */
export function horsesOf(worker: WorkerProcess): number[] {
  return groupMembers(worker.pid).filter((pid) => {
    try {
      // the bundle compileHorse writes, wherever the cache directory is
      return /\/horse-[0-9a-f]{16}\.mjs\b/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
    } catch {
      return false;
    }
  });
}

/**
 * A new path at each call for a fixture task to leave its pid in, in a folder
 * made before the calling file's tests and removed after them.
 */
export function pidFiles(): () => string {
  let dir: string | undefined;
  let seq = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "edgeq-pids-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => join(dir!, `horse-${++seq}.pid`);
}

/** The horse pid a fixture task wrote to its pidFile, once it has. */
export async function pidFrom(file: string, timeoutMs = 10_000): Promise<number> {
  return Number(
    await until(`a pid in ${file}`, timeoutMs, () => {
      try {
        return readFileSync(file, "utf8").trim();
      } catch {
        return "";
      }
    }),
  );
}
