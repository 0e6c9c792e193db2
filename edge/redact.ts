// What a key without `admin` sees. Such a key may sit in a browser, so it
// sees its jobs and queues but not the fleet's insides: no stack traces
// (source paths, line numbers, dependency versions), no list of the tasks a
// worker has registered or declared, and no worker names, hosts or pids.
import type { Attempt, JobError, JobView, QueueEventData, QueueInfo } from "../shared/index.ts";
import { can, type Principal } from "./auth.ts";

export function redactJob(job: JobView, principal: Principal): JobView {
  if (can(principal, "admin")) return job;
  // a step's result may hold what its task fetched with the deployment's own secrets, as a stack may name them
  const steps = job.steps?.map(({ result: _result, ...step }) => step);
  return { ...job, error: visibleError(job.error, job.task), ...(steps && { steps }) };
}

/** A job's attempts, each without its worker's name and with its error as redactJob shows it. */
export function redactAttempts(attempts: Attempt[], job: JobView, principal: Principal): Attempt[] {
  if (can(principal, "admin")) return attempts;
  return attempts.map((a) => ({ ...a, worker: null, error: visibleError(a.error, job.task) }));
}

export function redactQueue(info: QueueInfo, principal: Principal): QueueInfo {
  if (can(principal, "admin")) return info;
  const { tasks: _declared, ...rest } = info;
  return {
    ...rest,
    workers: info.workers.map((w) => ({ state: w.state, heartbeat: w.heartbeat }) as QueueInfo["workers"][number]),
  };
}

/** An event of a queue's stream, its error as redactJob shows it (the stream never holds a stack). */
export function redactQueueEvent(data: QueueEventData, principal: Principal): QueueEventData {
  if (!data.error || can(principal, "admin")) return data;
  return { ...data, error: visibleError({ name: data.error.name, message: data.error.message }, data.task ?? "")! };
}

function visibleError(error: JobError | null, task: string): JobError | null {
  if (!error) return null;
  // the worker's message names every task it knows; the job's own task is all this caller may learn
  const message =
    error.name === "UnknownTaskError" ? `task "${task}" is not registered with the worker that took it` : error.message;
  return { name: error.name, message };
}
