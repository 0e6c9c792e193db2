// The work horse's own side: the entry point of a child process or worker
// thread that runs jobs for its worker, so a crash, a leak or a hang in a task
// cannot take the worker down. bundle.ts compiles it with the task module into
// one plain-JavaScript file that both kinds load; horse.ts is the worker's
// side and spells the messages.
import { readFileSync } from "node:fs";
import { createRequire, SourceMap } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, threadId } from "node:worker_threads";
import type { Logger } from "pino";
import { DEFAULTS } from "../../shared/defaults.ts";
import type { JobError } from "../../shared/job.ts";
import { inTraceparent } from "../span.ts";
import { describeTasks, runTask, tasksOf, type Answer, type TaskModule } from "../task.ts";
import { startTracing } from "../tracing.ts";
import { JobAbort } from "./abort.ts";
import type { FromHorse, ToHorse } from "./horse.ts";

/** The module whose packages a horse loads, as the worker does: set by bundle.ts, since the bundle lives in a cache. */
declare const EDGEQ_REQUIRE_BASE: string;

/** The horse's end of its channel to the worker. */
interface Channel {
  /** `then` runs once the message is on its way, even if the horse exits next. */
  send(message: FromHorse, then?: () => void): void;
  listen(handler: (message: ToHorse) => void): void;
}

const processChannel: Channel = {
  send: (message, then) => process.send!(message, undefined, undefined, then),
  listen: (handler) => process.on("message", handler),
};

function threadChannel(port: NonNullable<typeof parentPort>): Channel {
  return {
    // a message posted before the thread exits is delivered
    send: (message, then) => {
      port.postMessage(message);
      then?.();
    },
    listen: (handler) => port.on("message", handler),
  };
}

export function serveJobs(module: TaskModule): void {
  const tasks = tasksOf(module);
  // the worker passes the OTEL_* variables on only when it exports: a task's own spans go where its worker's do
  const tracing = startTracing(process.env, createRequire(EDGEQ_REQUIRE_BASE));
  const channel = isMainThread ? processChannel : threadChannel(parentPort!);
  let root: Logger | undefined;
  // required on first use, not imported: see runTask
  const logger = () =>
    (root ??= (createRequire(EDGEQ_REQUIRE_BASE)("pino") as typeof import("pino").default)({
      level: process.env.LOG_LEVEL ?? DEFAULTS.logLevel,
      base: isMainThread ? { horse: process.pid } : { horse: process.pid, thread: threadId },
    }));
  let running: RunningJob | undefined;
  let lastJob: string | undefined;
  let retiring = false;
  // A job's outcome is held for one turn of the event loop after its task
  // settles, so that what the task left behind to fail then (a rejection
  // from a setImmediate, say) is known to the worker with the outcome, before
  // it could hand this horse another job.
  let held: FromHorse | undefined;
  const sendHeld = (then?: () => void) => {
    const message = held;
    held = undefined;
    if (message) channel.send(message, then);
    else then?.();
  };

  // SIGTERM to a process, this message to a thread: end the running job
  // through its signal, and the horse once the task has settled
  const abort = () => {
    if (!running) return sendHeld(() => process.exit(143));
    running.abort(new Error("the job was terminated (timeout or stop)"));
  };

  /**
   * An error no task awaited (a rejection nobody handled, a throw from a
   * timer) leaves the horse in a state Node calls unsafe to go on from. It
   * fails the job running now, if any, and the horse takes no more jobs, so
   * that it never fails the next one: the worker gives that to a fresh horse.
   */
  const escaped = (error: unknown, origin: "uncaughtException" | "unhandledRejection") => {
    if (retiring) return;
    retiring = true;
    const cause = error instanceof Error ? error : new Error(String(error));
    const failure: JobError = {
      name: origin === "unhandledRejection" ? "UnhandledRejectionError" : "UncaughtExceptionError",
      message: `${cause.name}: ${cause.message}`,
      stack: cause.stack && sourceMapped(cause.stack),
    };
    // the worker logs it: a thread's own output may not outlive the thread
    if (!running) {
      sendHeld();
      channel.send({ type: "retiring", stray: { error: failure, lastJob } }, () => process.exit(1));
      return;
    }
    channel.send({ type: "retiring" });
    const outcome = { ok: false, retryable: true, error: failure } as const;
    channel.send({ type: "done", id: running.id, outcome }, () => process.exit(1));
  };
  process.on("uncaughtException", escaped);

  if (isMainThread) {
    process.on("SIGTERM", abort);
    // Ctrl-C in a terminal signals the whole process group, horses included;
    // the worker decides: its first SIGINT lets running jobs finish (warm)
    process.on("SIGINT", () => {});
    process.on("disconnect", () => {
      if (!tracing) process.exit(0);
      void tracing.shutdown().finally(() => process.exit(0));
    });
  }
  // asks of the running job waiting for the worker's answer, by sequence number
  const asked = new Map<number, (answer: Answer) => void>();
  let seq = 0;
  channel.listen(async (message) => {
    if (message.type === "abort") return abort();
    if (message.type === "answer") return asked.get(message.seq)?.(message.answer);
    if (message.type === "describe") return channel.send({ type: "tasks", tasks: describeTasks(tasks) });
    // a job sent while the horse was retiring: the worker gives it to another
    if (retiring) return;
    const { job } = message;
    const current = new RunningJob(job.id);
    running = current;
    const outcome = await inTraceparent(message.traceparent, () =>
      runTask(tasks, job, {
        get signal() {
          return current.signal;
        },
        logger: () => logger().child({ jobId: job.id, task: job.task }),
        report: (update) => channel.send({ type: "progress", id: job.id, update }),
        ask: (request) =>
          new Promise<Answer>((resolve) => {
            const n = ++seq;
            asked.set(n, (answer) => {
              asked.delete(n);
              resolve(answer);
            });
            channel.send({ type: "ask", seq: n, request });
          }),
      }),
    );
    // the job was failed already, and the horse is on its way out
    if (retiring) return;
    if ("error" in outcome && outcome.error.stack) outcome.error.stack = sourceMapped(outcome.error.stack);
    if (current.aborted) process.exit(143);
    running = undefined;
    lastJob = job.id;
    held = { type: "done", id: job.id, outcome };
    await new Promise((resolve) => setImmediate(resolve));
    sendHeld();
  });
  channel.send({ type: "ready" });
}

/** The job a horse runs, and its signal (see JobAbort). */
class RunningJob extends JobAbort {
  constructor(readonly id: string) {
    super();
  }
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
