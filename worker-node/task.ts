// What a task is, and how one runs: the same code runs inside a horse and,
// with --isolation inline, inside the worker itself.
import type { Logger } from "pino";
import type { Job, JobError, JsonValue } from "../shared/index.ts";

export interface TaskContext {
  job: Job;
  /** Aborted when the job times out, is stopped, or the worker shuts down cold. */
  signal: AbortSignal;
  logger: Logger;
}

// biome-ignore lint/suspicious/noExplicitAny: each task declares the args it takes
export type Task = (args: any, ctx: TaskContext) => unknown;

/** A task module: a default export of tasks by name, or named function exports. */
export type TaskModule = { default?: Record<string, Task> } & Record<string, unknown>;

export type Outcome = { ok: true; result: string } | { ok: false; error: JobError; retryable: boolean };

export function tasksOf(module: TaskModule): Map<string, Task> {
  const source = module.default && typeof module.default === "object" ? module.default : module;
  const tasks = new Map<string, Task>();
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === "function") tasks.set(name, value as Task);
  }
  return tasks;
}

export function errorOf(error: unknown): JobError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: "Error", message: typeof error === "string" ? error : (JSON.stringify(error) ?? String(error)) };
}

/**
 * Runs one job's task; never throws. The result travels as JSON text. The
 * logger is made on first use: loading pino is a quarter of a horse's boot,
 * and most tasks never log.
 */
export async function runTask(
  tasks: Map<string, Task>,
  job: Job,
  signal: AbortSignal,
  logger: () => Logger,
): Promise<Outcome> {
  const task = tasks.get(job.task);
  if (!task) {
    return {
      ok: false,
      retryable: false,
      error: {
        name: "UnknownTaskError",
        message:
          `task "${job.task}" (queue "${job.queue}") is not registered with this worker; ` +
          `known tasks: ${[...tasks.keys()].join(", ")}`,
      },
    };
  }
  try {
    let made: Logger | undefined;
    const ctx: TaskContext = {
      job,
      signal,
      get logger() {
        made ??= logger();
        return made;
      },
    };
    const value = (await task(job.args, ctx)) as JsonValue | undefined;
    return { ok: true, result: JSON.stringify(value ?? null) };
  } catch (error) {
    return { ok: false, retryable: true, error: errorOf(error) };
  }
}
