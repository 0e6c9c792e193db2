// Tasks that declare their arguments. A task module defines its tasks with
// defineTasks (edgeq/worker): a plain function, or a schema beside a run
// function (defineTask). From that one definition:
//   - a producer's Queue and EdgeqClient are typed: task names, args and
//     results are checked at compile time (the types below, imported type-only);
//   - a worker checks a job's args before the task runs, and declares each
//     schema, as JSON Schema, for the queues it serves (declareTasks below);
//   - the edge refuses a job whose task no worker declared, or whose args do
//     not match, before it is queued (edge/tasks.ts).
import { DEFAULTS } from "./defaults.ts";
import type { JsonValue } from "./names.ts";
import type { JobOptions } from "./options.ts";
import type { Keys } from "./keys.ts";
import { scriptRunner, type RedisClient } from "./redis.ts";
import * as scripts from "./scripts/index.ts";

// ---- types: from the task module to the producer --------------------------------

/**
 * The schema of a task's args: any Standard Schema (zod 4, valibot, arktype
 * …). Its validate checks a job's args in the worker; its jsonSchema, when
 * the library has one (zod ≥ 4.2 does), is what the worker declares for the
 * edge to check against.
 */
export interface ArgsSchema<In = unknown, Out = In> {
  readonly "~standard": {
    readonly validate: (value: unknown) => SchemaResult<Out> | Promise<SchemaResult<Out>>;
    readonly types?: { readonly input: In; readonly output: Out } | undefined;
    readonly jsonSchema?: { readonly input: (options: { readonly target: string }) => Record<string, unknown> };
  };
}

export type SchemaResult<Out> =
  | { readonly value: Out; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/** What a producer passes for a schema, and what the task then gets (a schema may transform). */
export type InputOf<S> = S extends { readonly "~standard": { readonly types?: { readonly input: infer I } } }
  ? I
  : unknown;
export type OutputOf<S> = S extends { readonly "~standard": { readonly types?: { readonly output: infer O } } }
  ? O
  : unknown;

// biome-ignore lint/suspicious/noExplicitAny: the worker's TaskContext; shared/ does not depend on worker-node/
type AnyContext = any;

/** A task that declares its args: the schema checks them before `run` gets them. */
export interface TaskWithArgs<S extends ArgsSchema = ArgsSchema, R = unknown> {
  args: S;
  run: (args: OutputOf<S>, ctx: AnyContext) => R;
}

// biome-ignore lint/suspicious/noExplicitAny: each plain task names its own args type
export type TaskFunction = (args: any, ctx: AnyContext) => unknown;

export type TaskDefinition = TaskFunction | { args: ArgsSchema; run: TaskFunction };

/** A task module's tasks by name: `typeof tasks` where `const tasks = defineTasks({ … })`. */
export type TaskMap = Record<string, TaskDefinition>;

/** What a producer that does not name its tasks may enqueue: any task, any args. */
export type AnyTasks = Record<string, (args?: unknown) => JsonValue>;

export type TaskName<T> = Extract<keyof T, string>;

/** The args a producer passes: the schema's input type, or the plain function's first parameter. */
export type ArgsOf<D> = D extends { args: infer S extends ArgsSchema }
  ? InputOf<S>
  : D extends (args: infer A, ...rest: never[]) => unknown
    ? A
    : unknown;

/** What a job of the task ends with; results travel as JSON. */
export type ResultOf<D> = D extends { run: (...a: never[]) => infer R }
  ? Awaited<R>
  : D extends (...a: never[]) => infer R
    ? Awaited<R>
    : JsonValue;

/** args may be left out only when the task accepts undefined. */
type ArgsField<A> = undefined extends A ? { args?: A } : { args: A };

/** One job of task K of T, as the HTTP client's enqueue takes it. */
export type TaskRequest<T, K extends TaskName<T>> = { task: K; options?: JobOptions } & ArgsField<ArgsOf<T[K]>>;

/** One job of any task of T, as enqueueMany and a batch take it. */
export type JobRequestOf<T> = { [K in TaskName<T>]: TaskRequest<T, K> }[TaskName<T>];

/** Queue.enqueue's parameters after the task name. */
export type EnqueueArgs<D> =
  undefined extends ArgsOf<D> ? [args?: ArgsOf<D>, options?: JobOptions] : [args: ArgsOf<D>, options?: JobOptions];

// ---- declarations: from the worker to Redis to the edge -------------------------

export type JsonSchema = Record<string, unknown>;

export interface TaskDeclaration {
  name: string;
  /** JSON Schema of the args; null when the task takes any. */
  args: JsonSchema | null;
  /** When a worker last declared it, epoch ms. */
  declaredAt: number;
}

export type TaskDescription = { name: string; args: JsonSchema | null };

/**
 * What declares the tasks a worker serves on its queues; a worker declares
 * at start and again every DEFAULTS.taskDeclareEveryMs, with its heartbeat.
 * At most DEFAULTS.maxDeclaredTasks of them (a RangeError).
 */
function declarationParams(queues: string[], tasks: TaskDescription[], now: number) {
  if (tasks.length > DEFAULTS.maxDeclaredTasks) {
    throw new RangeError(`a worker declares at most ${DEFAULTS.maxDeclaredTasks} tasks; this one has ${tasks.length}`);
  }
  return {
    now,
    keepMs: DEFAULTS.taskDeclarationTtlMs,
    queues,
    tasks: tasks.map((t): [string, string] => [t.name, JSON.stringify({ declaredAt: now, args: t.args })]),
  };
}

/** The declaration as a script call, for a worker's heartbeat pipeline. */
export function declaration(keys: Keys, queues: string[], tasks: TaskDescription[], now: number = Date.now()) {
  return scripts.declareTasks.call(keys, declarationParams(queues, tasks, now));
}

/** The declaration in a call of its own. */
export async function declareTasks(
  redis: RedisClient,
  keys: Keys,
  queues: string[],
  tasks: TaskDescription[],
  now: number = Date.now(),
): Promise<void> {
  await scripts.declareTasks.run(scriptRunner(redis), keys, declarationParams(queues, tasks, now));
}

/** The declarations in a stored hash (name, JSON text, …) that still count, by name. */
export function declarationsOf(flat: string[], now: number = Date.now()): TaskDeclaration[] {
  const out: TaskDeclaration[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const { declaredAt, args } = JSON.parse(flat[i + 1]!) as { declaredAt: number; args: JsonSchema | null };
    if (declaredAt >= now - DEFAULTS.taskDeclarationTtlMs) out.push({ name: flat[i]!, args, declaredAt });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The tasks declared for each queue named, in order; an empty list: any task goes. */
export async function declaredTasks(redis: RedisClient, keys: Keys, queues: string[]): Promise<TaskDeclaration[][]> {
  const now = Date.now();
  const reply = await scripts.getTasks.run(scriptRunner(redis), keys, { queues });
  return reply.map((flat) => declarationsOf(flat, now));
}
