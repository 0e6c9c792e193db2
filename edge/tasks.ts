// The edge refuses, before anything is queued, a job that no worker of its
// queue would run: a task no worker declared, or args that do not match the
// JSON Schema its workers declared (shared/tasks.ts). A queue whose workers
// declared nothing takes any task, as before declarations existed. The
// validator interprets the schema (no eval, which Workers forbid); the
// declarations are kept per isolate for a few seconds, so an enqueue does
// not pay a Redis read each time.
import { Validator, type OutputUnit } from "@cfworker/json-schema";
import { DEFAULTS, type FieldIssue } from "../shared/index.ts";
import type { TaskDeclaration } from "../shared/tasks.ts";
import { Problem } from "./problem.ts";

interface Catalog {
  /** By task name; null: the task takes any args. Empty: the queue takes any task. */
  tasks: Map<string, Validator | null>;
  readAt: number;
}

/** Keywords that only say a part below them failed: the part's own error says what is wrong. */
const ENCLOSING = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "items",
  "prefixItems",
  "contains",
  "unevaluatedProperties",
  "unevaluatedItems",
  "dependentSchemas",
  "$ref",
  "allOf",
]);

/** What a refusal names per job: at most this many problems. */
const MAX_ISSUES = 20;

/** `#/a/0/b` under `args` → `args.a.0.b`. */
function fieldOf(root: string, instanceLocation: string): string {
  const path = instanceLocation
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"));
  return joined(root, ...path);
}

function joined(...parts: string[]): string {
  return parts.filter(Boolean).join(".");
}

function issuesOf(root: string, errors: OutputUnit[]): FieldIssue[] {
  return errors
    .filter((e) => !ENCLOSING.has(e.keyword))
    .slice(0, MAX_ISSUES)
    .map((e) => ({
      field: fieldOf(root, e.instanceLocation),
      message: e.keyword === "false" ? "is not allowed here" : e.error,
    }));
}

export class TaskCatalog {
  readonly #read: (queue: string) => Promise<TaskDeclaration[]>;
  readonly #cache = new Map<string, Promise<Catalog>>();

  /** `read` gives the declarations of one queue from Redis. */
  constructor(read: (queue: string) => Promise<TaskDeclaration[]>) {
    this.#read = read;
  }

  async #catalog(queue: string, now: number, { fresherThan = DEFAULTS.taskCacheMs } = {}): Promise<Catalog> {
    const cached = this.#cache.get(queue);
    if (cached) {
      const catalog = await cached.catch(() => null);
      if (catalog && now - catalog.readAt < fresherThan) return catalog;
    }
    const reading = this.#read(queue).then((declarations) => ({
      readAt: now,
      tasks: new Map(declarations.map((d) => [d.name, d.args ? new Validator(d.args, "2020-12", false) : null])),
    }));
    this.#cache.set(queue, reading);
    return reading;
  }

  /**
   * Refuses (422) jobs whose task the queue's workers did not declare or
   * whose args do not match; `root(i)` names job i's place in the request.
   */
  async check(queue: string, jobs: { task: string; args?: unknown }[], root: (i: number) => string): Promise<void> {
    const now = Date.now();
    let catalog = await this.#catalog(queue, now);
    // a worker that started a moment ago may have declared a task the copy
    // lacks: one more read, which a refusal would cost anyway
    if (catalog.tasks.size > 0 && catalog.readAt < now && jobs.some((j) => !catalog.tasks.has(j.task))) {
      catalog = await this.#catalog(queue, now, { fresherThan: 0 });
    }
    if (catalog.tasks.size === 0) return;
    const unknown: FieldIssue[] = [];
    const invalid: FieldIssue[] = [];
    jobs.forEach((job, i) => {
      const validator = catalog.tasks.get(job.task);
      if (validator === undefined) {
        unknown.push({
          field: joined(root(i), "task"),
          message: `no worker of queue "${queue}" declares task "${job.task}"`,
        });
        return;
      }
      const outcome = validator?.validate(job.args ?? null);
      if (outcome && !outcome.valid) invalid.push(...issuesOf(joined(root(i), "args"), outcome.errors));
    });
    if (unknown.length) {
      throw new Problem(422, "unknown-task", "No worker of the queue runs this task", detail(unknown), {}, unknown);
    }
    if (invalid.length) {
      throw new Problem(422, "invalid-args", "The args do not match the task's schema", detail(invalid), {}, invalid);
    }
  }
}

function detail(issues: FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join("; ");
}
