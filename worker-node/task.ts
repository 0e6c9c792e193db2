// What a task is, and how one runs: the same code runs inside a horse and,
// with --isolation inline, inside the worker itself.
import type { Logger } from "pino";
// defaults.ts, not index.ts: this module is bundled into every horse, and
// index.ts would bring zod and the rest of the producer API into each boot
import { DEFAULTS } from "../shared/defaults.ts";
import type { Job, JobError, JsonValue } from "../shared/index.ts";
import type { ProgressUpdate } from "../shared/scripts/index.ts";

export interface TaskContext {
  job: Job;
  /** Aborted when the job times out, is stopped, or the worker shuts down cold. */
  signal: AbortSignal;
  logger: Logger;
  /**
   * Reports how far the task has come: a number 0-100 or a small JSON value.
   * The job view shows the last one and SSE streams each; the worker writes
   * a few a second at most, and always the last before the outcome.
   */
  progress(value: JsonValue): void;
  /** Merges fields into the job's meta, as progress is written. */
  setMeta(patch: Record<string, JsonValue>): void;
}

/** What runs a task provides it with, in a horse or in the worker. */
export interface TaskHost {
  signal: AbortSignal;
  /** Made on first use: loading pino is a quarter of a horse's boot, and most tasks never log. */
  logger: () => Logger;
  /** Passes a progress update on to the worker. */
  report: (update: ProgressUpdate) => void;
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

/** JSON text of a value a task hands over; a TypeError when it is not JSON, a RangeError when it is too large. */
function jsonOf(value: unknown, what: string, maxBytes: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (error) {
    throw new TypeError(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`${what} is not JSON`);
  const bytes = new TextEncoder().encode(text).byteLength;
  if (bytes > maxBytes) throw new RangeError(`${what} is ${bytes} bytes of JSON; the limit is ${maxBytes}`);
  return text;
}

function contextFor(job: Job, host: TaskHost): TaskContext {
  let made: Logger | undefined;
  return {
    job,
    // read when the task reads it: a horse makes the signal on first use
    get signal() {
      return host.signal;
    },
    get logger() {
      made ??= host.logger();
      return made;
    },
    progress(value) {
      if (typeof value === "number" && !(value >= 0 && value <= 100)) {
        throw new RangeError(`ctx.progress(${value}): a number must be from 0 to 100`);
      }
      host.report({ progress: JSON.parse(jsonOf(value, "ctx.progress()", DEFAULTS.maxProgressBytes)) });
    },
    setMeta(patch) {
      if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
        throw new TypeError("ctx.setMeta() takes an object of fields to merge into meta");
      }
      host.report({ meta: JSON.parse(jsonOf(patch, "ctx.setMeta()", DEFAULTS.maxProgressBytes)) });
    },
  };
}

/** Runs one job's task; never throws. The result travels as JSON text, within the size limit. */
export async function runTask(tasks: Map<string, Task>, job: Job, host: TaskHost): Promise<Outcome> {
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
  let value: unknown;
  try {
    value = await task(job.args, contextFor(job, host));
  } catch (error) {
    return { ok: false, retryable: true, error: errorOf(error) };
  }
  try {
    return { ok: true, result: jsonOf(value, `the result of task "${job.task}"`, DEFAULTS.maxResultBytes) };
  } catch (error) {
    // the same task would return the same value again: no retry
    const name = error instanceof RangeError ? "ResultTooLargeError" : "ResultNotJsonError";
    return { ok: false, retryable: false, error: { name, message: (error as Error).message } };
  }
}
