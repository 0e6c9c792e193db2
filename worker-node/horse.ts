// The work horse: a child process that runs jobs for its worker, so a crash,
// a leak or a hang in a task cannot take the worker down. It is compiled with
// the task module into one plain-JavaScript file (see pool.ts), so it boots
// without a TypeScript loader.
//
// Protocol over the IPC channel:
//   horse → worker  { type: "ready" }                       tasks loaded
//   worker → horse  { type: "run", job }
//   horse → worker  { type: "done", id, outcome }
// The worker retires a horse by closing the channel; SIGTERM aborts the
// running job's signal and ends the horse once the task settles.
import pino from "pino";
import type { Job } from "../shared/index.ts";
import { runTask, tasksOf, type Outcome, type TaskModule } from "./task.ts";

export type ToHorse = { type: "run"; job: Job };
export type FromHorse = { type: "ready" } | { type: "done"; id: string; outcome: Outcome };

export function serveJobs(module: TaskModule): void {
  const tasks = tasksOf(module);
  const logger = pino({ level: process.env.LOG_LEVEL ?? "info", base: { horse: process.pid } });
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
    const outcome = await runTask(tasks, job, controller.signal, logger.child({ jobId: job.id, task: job.task }));
    if (controller.signal.aborted) process.exit(143);
    running = undefined;
    send({ type: "done", id: job.id, outcome });
  });
  send({ type: "ready" });
}
