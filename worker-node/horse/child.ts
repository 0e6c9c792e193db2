// The work horse's own side: the entry point of a child process that runs
// jobs for its worker, so a crash, a leak or a hang in a task cannot take the
// worker down. bundle.ts compiles it with the task module into one
// plain-JavaScript file; horse.ts is the worker's side and spells the messages.
import { readFileSync } from "node:fs";
import { createRequire, SourceMap } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { DEFAULTS } from "../../shared/defaults.ts";
import { runTask, tasksOf, type TaskModule } from "../task.ts";
import type { FromHorse, ToHorse } from "./horse.ts";

/** The module whose packages a horse loads, as the worker does: set by bundle.ts, since the bundle lives in a cache. */
declare const EDGEQ_REQUIRE_BASE: string;

export function serveJobs(module: TaskModule): void {
  const tasks = tasksOf(module);
  let root: Logger | undefined;
  // required on first use, not imported: see runTask
  const logger = () =>
    (root ??= (createRequire(EDGEQ_REQUIRE_BASE)("pino") as typeof import("pino").default)({
      level: process.env.LOG_LEVEL ?? DEFAULTS.logLevel,
      base: { horse: process.pid },
    }));
  const send = (message: FromHorse) => process.send!(message);
  let running: AbortController | undefined;

  process.on("SIGTERM", () => {
    if (!running) process.exit(143);
    running.abort(new Error("the job was terminated (timeout or stop)"));
    running = undefined;
  });
  // Ctrl-C in a terminal signals the whole process group, horses included;
  // the worker decides: its first SIGINT lets running jobs finish (warm)
  process.on("SIGINT", () => {});
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToHorse) => {
    if (message.type !== "run") return;
    const controller = new AbortController();
    running = controller;
    const { job } = message;
    const outcome = await runTask(tasks, job, {
      signal: controller.signal,
      logger: () => logger().child({ jobId: job.id, task: job.task }),
      report: (update) => send({ type: "progress", id: job.id, update }),
    });
    if (!outcome.ok && outcome.error.stack) outcome.error.stack = sourceMapped(outcome.error.stack);
    if (controller.signal.aborted) process.exit(143);
    running = undefined;
    send({ type: "done", id: job.id, outcome });
  });
  send({ type: "ready" });
}

let bundleMap: SourceMap | null | undefined;

/**
 * Rewrites the stack's frames in this bundle to the task's own files and
 * lines, with the map compileHorse wrote beside it; read on the first failure.
 */
function sourceMapped(stack: string): string {
  const bundle = fileURLToPath(import.meta.url);
  if (bundleMap === undefined) {
    try {
      bundleMap = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, "utf8")));
    } catch {
      bundleMap = null;
    }
  }
  const map = bundleMap;
  if (!map) return stack;
  return stack.replace(/(?:file:\/\/)?([^\s()]+):(\d+):(\d+)/g, (frame, path: string, line: string, column: string) => {
    if (path !== bundle) return frame;
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (!entry.originalSource) return frame;
    const source = resolve(dirname(bundle), entry.originalSource.replace(/^file:\/\//, ""));
    return `${source}:${entry.originalLine! + 1}:${entry.originalColumn! + 1}`;
  });
}
