// What a task is, and how one runs: the same code runs inside a horse and,
// with --isolation inline, inside the worker itself.
import type { Logger } from "pino";
// defaults.ts, not index.ts: this module is bundled into every horse, and
// index.ts would bring zod and the rest of the producer API into each boot
import { DEFAULTS } from "../shared/defaults.ts";
import type { Job, JobError, JobOptions, JsonValue } from "../shared/index.ts";
import type { ProgressUpdate } from "../shared/scripts/index.ts";
import { logLine, writingThrough } from "./log.ts";
import type {
  AnyTasks,
  ArgsOf,
  ArgsSchema,
  JsonSchema,
  OutputOf,
  ResultOf,
  TaskDefinition,
  TaskDescription,
  TaskName,
  TaskWithArgs,
} from "../shared/tasks.ts";

/** The options of a child job (ctx.invoke): a job's, in this queue or `queue`; its id is the step's. */
export type InvokeOptions = Omit<JobOptions, "id" | "dependsOn" | "debounce" | "dedupe"> & { queue?: string };

/** ctx.invoke's parameters after the task name: args may be left out when the task accepts none. */
type InvokeArgs<D> =
  undefined extends ArgsOf<D>
    ? [args?: ArgsOf<D>, options?: InvokeOptions]
    : [args: ArgsOf<D>, options?: InvokeOptions];

/**
 * What a task is given. With the type of the task module its children come from (`TaskContext<typeof tasks>`,
 * imported type-only from another module), ctx.invoke checks their names and args and answers their result types.
 */
export interface TaskContext<T = AnyTasks> {
  job: Job;
  /** Aborted when the job times out, is stopped, or the worker shuts down cold. */
  signal: AbortSignal;
  /** The worker's pino logger for this job; what it logs goes to the job's log too (ctx.log), with its level. */
  logger: Logger;
  /**
   * Keeps a line in the job's log, args formatted as console.log formats them, with the time and the attempt:
   * GET /v1/jobs/:id/logs, queue.logs, `edgeq admin logs`. Written with the progress, the latest 1,000 lines or
   * 256 KiB kept; the log goes when the job does.
   */
  log(...args: unknown[]): void;
  /**
   * Reports how far the task has come: a number 0-100 or a small JSON value.
   * The job view shows the last one and SSE streams each; the worker writes
   * a few a second at most, and always the last before the outcome.
   */
  progress(value: JsonValue): void;
  /** Merges fields into the job's meta, as progress is written. */
  setMeta(patch: Record<string, JsonValue>): void;
  /**
   * Runs `fn` once for this job: its JSON result is recorded in Redis as soon as it returns, and a later attempt (a
   * crash, a timeout, a retry) gets the recorded result without calling `fn` again. A step that throws is not
   * recorded. Ids are unique within a job and must be the same on every run (no random or time-based ids).
   */
  step<T>(id: string, fn: () => T | Promise<T>): Promise<T>;
  /** The results of the jobs it depended on (dependsOn), by id: all of them finished before it was queued. */
  dependencies(): Promise<Record<string, JsonValue>>;
  /**
   * Suspends the job for `ms` (at most a year): it leaves its worker, whose slot is free at once, and is scheduled
   * until then; a worker then runs it again, from the top, and the sleep with this id returns at once. A resumption
   * is not an attempt, and timeoutMs bounds each run between suspensions.
   */
  sleep(id: string, ms: number): Promise<void>;
  /** ctx.sleep until a moment (a Date or epoch ms). */
  sleepUntil(id: string, until: Date | number): Promise<void>;
  /**
   * Suspends the job until an event with this name (and key, when given) is sent to its queue
   * (queue.sendEvent, POST /v1/queues/:queue/events/:event, a webhook), and answers its data; or null once
   * `timeoutMs` (at most a year) has passed. While it waits the job is `awaiting`, holding no worker. An event sent
   * before the wait began does not count.
   */
  waitForEvent<T extends JsonValue = JsonValue>(
    id: string,
    wait: { event: string; key?: string; timeoutMs: number },
  ): Promise<T | null>;
  /**
   * Enqueues a child job (in this queue, or `options.queue`) once however often this task replays, suspends this
   * job (`deferred`, holding no worker) until the child ends, and answers the child's result; a child that did not
   * finish throws ChildJobFailedError with its error.
   */
  invoke<K extends TaskName<T>>(id: string, task: K, ...rest: InvokeArgs<T[K]>): Promise<ResultOf<T[K]>>;
}

/** A child job a task invoked (ctx.invoke) that failed, was stopped or canceled: its error, and its id. */
export class ChildJobFailedError extends Error {
  override name = "ChildJobFailedError";
  constructor(
    readonly childId: string,
    readonly childError: JobError,
  ) {
    super(`child job "${childId}" did not finish: ${childError.name}: ${childError.message}`);
  }
}

/** What a task asks of the worker that holds its job, and waits for: what only the worker can write or read. */
export type Ask =
  | { kind: "record"; step: string; result: string; startedAt: number; endedAt: number }
  | { kind: "dependencies" }
  | { kind: "sleep"; step: string; until: number }
  | { kind: "wait"; step: string; until: number; event: string; key: string }
  | { kind: "invoke"; step: string; queue?: string; task: string; args?: unknown; options?: JobOptions };
export type Answer =
  | { ok: true; results?: Record<string, JsonValue> }
  | {
      ok: false;
      error: "lost" | "recorded" | "too_many" | "unreachable" | "id_in_other_queue" | "invalid";
      detail?: string;
    };

/** A step that could not be recorded: its job goes on failing or retrying as any job does. */
export class StepError extends Error {
  override name = "StepError";
}

/** What runs a task provides it with, in a horse or in the worker. */
export interface TaskHost {
  signal: AbortSignal;
  /** Made on first use: loading pino is a quarter of a horse's boot, and most tasks never log. */
  logger: () => Logger;
  /** Passes a progress update on to the worker. */
  report: (update: ProgressUpdate) => void;
  /** Asks the worker, which answers once Redis has. */
  ask: (request: Ask) => Promise<Answer>;
}

// biome-ignore lint/suspicious/noExplicitAny: each task declares the args it takes
export type Task = (args: any, ctx: TaskContext) => unknown;

/** A task as the worker keeps it: what runs, and the schema its args must match (none: any args). */
export interface TaskEntry {
  run: Task;
  args?: ArgsSchema;
}

/** A task module: tasks by name (defineTasks) as its default export, or named exports. */
export type TaskModule = { default?: Record<string, unknown> } & Record<string, unknown>;

export type Outcome = { ok: true; result: string } | { ok: false; error: JobError; retryable: boolean };

/** How a run ends: with the job's outcome, or suspended (ctx.sleep), the job moved on by the script that did it. */
export type RunEnd = Outcome | { suspended: true };

/**
 * A task whose args are checked before it runs: against `args`, any
 * Standard Schema (a zod schema, for one), whose type `run` gets and whose
 * input type producers are held to. The worker declares its JSON Schema, so
 * that the edge refuses bad args before they are queued.
 */
export function defineTask<S extends ArgsSchema, R>(task: {
  args: S;
  run: (args: OutputOf<S>, ctx: TaskContext) => R;
}): TaskWithArgs<S, R> {
  return task;
}

/**
 * A task module's tasks by name: plain functions, or defineTask's. Export
 * the result as the module's default; producers import its type (type-only)
 * for `Queue<typeof tasks>` and `EdgeqClient<typeof tasks>`.
 */
export function defineTasks<const T extends Record<string, TaskDefinition>>(tasks: T): T {
  return tasks;
}

function isSchema(value: unknown): value is ArgsSchema {
  return typeof (value as ArgsSchema | undefined)?.["~standard"]?.validate === "function";
}

export function tasksOf(module: TaskModule): Map<string, TaskEntry> {
  const source = module.default && typeof module.default === "object" ? module.default : module;
  const tasks = new Map<string, TaskEntry>();
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === "function") tasks.set(name, { run: value as Task });
    else if (typeof (value as TaskEntry | null)?.run === "function" && isSchema((value as TaskEntry).args)) {
      tasks.set(name, value as TaskEntry);
    }
  }
  return tasks;
}

/**
 * What a worker declares for each task: the JSON Schema of the args it
 * accepts, or null when it takes any, or when its schema cannot be said in
 * JSON Schema (the library has no converter, or the schema holds a date or
 * a transform): such args are checked by the worker alone.
 */
export function describeTasks(tasks: Map<string, TaskEntry>): TaskDescription[] {
  return [...tasks].map(([name, task]) => {
    let args: JsonSchema | null = null;
    try {
      args = task.args?.["~standard"].jsonSchema?.input({ target: "draft-2020-12" }) ?? null;
    } catch {
      // not expressible: the worker's own check still holds
    }
    return { name, args };
  });
}

/** The args as the task's schema gives them (it may fill defaults or transform), or why they are refused. */
async function checkedArgs(
  task: TaskEntry,
  job: Job,
): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  if (!task.args) return { ok: true, value: job.args };
  const checked = await task.args["~standard"].validate(job.args);
  if (!checked.issues) return { ok: true, value: checked.value };
  const problems = checked.issues.map((issue) => {
    const path = (issue.path ?? []).map((part) => String(typeof part === "object" ? part.key : part));
    return `${["args", ...path].join(".")}: ${issue.message}`;
  });
  return { ok: false, message: `the args of task "${job.task}" do not match its schema: ${problems.join("; ")}` };
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

const STEP_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

const STEP_REFUSED: Record<string, string> = {
  lost: "the worker no longer holds the job (its lease ran out): another worker may run it",
  recorded: "a step with this id is recorded already (a step id is used once a job)",
  too_many: `the job has recorded ${DEFAULTS.maxSteps} steps, the most a job may`,
  unreachable: "Redis did not answer",
  id_in_other_queue: "a job with the child's id is in another queue",
  invalid: "the child job was refused",
};

/** A step id as a task gave it, checked: a second use of one in the same run is refused. */
function stepOf(id: unknown, used: Set<string>, what: string): string {
  if (typeof id !== "string" || !STEP_ID.test(id)) {
    throw new TypeError(`${what}(${JSON.stringify(id)}): a step id is 1-128 letters, digits, '_', '.', ':' or '-'`);
  }
  if (used.has(id)) throw new StepError(`${what}("${id}"): this job has a step with this id already`);
  used.add(id);
  return id;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

function contextFor(job: Job, host: TaskHost, suspended: () => void): TaskContext {
  let made: Logger | undefined;
  const recorded = new Map((job.steps ?? []).map((s) => [s.id, s]));
  const used = new Set<string>();
  /** Asks the worker to suspend the job; once it has, this run goes no further (its promise never settles). */
  const suspend = async (what: string, request: Extract<Ask, { kind: "sleep" | "wait" | "invoke" }>) => {
    if ("until" in request && (!Number.isFinite(request.until) || request.until > Date.now() + YEAR_MS)) {
      throw new RangeError(`${what}("${request.step}"): it ends within a year, at a real time`);
    }
    const answer = await host.ask(request);
    if (!answer.ok) {
      const why = `${STEP_REFUSED[answer.error]}${answer.detail ? `: ${answer.detail}` : ""}`;
      throw new StepError(`${what}("${request.step}") did not suspend the job: ${why}`);
    }
    suspended();
    return new Promise<never>(() => {});
  };
  const sleepUntil = async (id: string, until: Date | number) => {
    const step = stepOf(id, used, "ctx.sleep");
    if (recorded.has(step)) return;
    const at = Math.round(until instanceof Date ? until.getTime() : until);
    await suspend("ctx.sleep", { kind: "sleep", step, until: at });
  };
  return {
    job,
    // read when the task reads it: a horse makes the signal on first use
    get signal() {
      return host.signal;
    },
    get logger() {
      made ??= writingThrough(host.logger(), (args, level) => host.report({ logs: [logLine(job, args, level)] }));
      return made;
    },
    log: (...args) => host.report({ logs: [logLine(job, args)] }),
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
    async step(id, fn) {
      stepOf(id, used, "ctx.step");
      if (recorded.has(id)) return recorded.get(id)!.result as never;
      const startedAt = Date.now();
      const value = await fn();
      const result = jsonOf(value, `the result of step "${id}"`, DEFAULTS.maxResultBytes);
      const answer = await host.ask({ kind: "record", step: id, result, startedAt, endedAt: Date.now() });
      if (!answer.ok) throw new StepError(`ctx.step("${id}") was not recorded: ${STEP_REFUSED[answer.error]}`);
      return JSON.parse(result);
    },
    sleep: (id, ms) => {
      if (typeof ms !== "number" || !(ms >= 0)) throw new RangeError(`ctx.sleep("${id}", ${ms}): ms is 0 or more`);
      return sleepUntil(id, Date.now() + ms);
    },
    sleepUntil,
    async waitForEvent(id, { event, key, timeoutMs }) {
      const step = stepOf(id, used, "ctx.waitForEvent");
      if (recorded.has(step)) return (recorded.get(step)!.result ?? null) as never;
      for (const [name, value] of [
        ["event", event],
        ["key", key ?? "any"],
      ]) {
        if (!STEP_ID.test(value ?? "")) {
          throw new TypeError(`ctx.waitForEvent("${step}"): ${name} is 1-128 letters, digits, '_', '.', ':' or '-'`);
        }
      }
      if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
        throw new RangeError(`ctx.waitForEvent("${step}"): timeoutMs is 0 or more`);
      }
      return suspend("ctx.waitForEvent", { kind: "wait", step, until: Date.now() + timeoutMs, event, key: key ?? "" });
    },
    async invoke(id, task, ...[args, options]) {
      const step = stepOf(id, used, "ctx.invoke");
      const done = recorded.get(step);
      if (done?.error) throw new ChildJobFailedError(done.child ?? `${job.id}:${step}`, done.error);
      if (done) return done.result as never;
      const { queue, ...childOptions } = options ?? {};
      return suspend("ctx.invoke", { kind: "invoke", step, queue, task, args, options: childOptions });
    },
    async dependencies() {
      const answer = await host.ask({ kind: "dependencies" });
      if (!answer.ok) throw new StepError(`ctx.dependencies(): ${STEP_REFUSED[answer.error]}`);
      return answer.results ?? {};
    },
  };
}

const SUSPENDED = Symbol("suspended");

/** Runs one job's task; never throws. The result travels as JSON text, within the size limit; a suspension has none. */
export async function runTask(tasks: Map<string, TaskEntry>, job: Job, host: TaskHost): Promise<RunEnd> {
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
    const args = await checkedArgs(task, job);
    // the same args would be refused again: no retry
    if (!args.ok) return { ok: false, retryable: false, error: { name: "InvalidArgsError", message: args.message } };
    // called bare, not as task.run(): a stack then names the task's own function
    const run = task.run;
    let suspend = () => {};
    const suspension = new Promise<typeof SUSPENDED>((resolve) => {
      suspend = () => resolve(SUSPENDED);
    });
    value = await Promise.race([run(args.value, contextFor(job, host, suspend)), suspension]);
    if (value === SUSPENDED) return { suspended: true };
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
