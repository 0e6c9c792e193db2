// What `edgeq/worker` exports: the worker, to run inside a Node service of
// one's own (`edgeq worker` is the command-line form), and the types a task
// module is written against.
export { Worker } from "./worker.ts";
export type { WorkerOptions, CallbackSettings } from "./options.ts";
export { defineTask, defineTasks, ChildJobFailedError, StepError } from "./task.ts";
export type { Task, TaskContext, TaskModule, InvokeOptions } from "./task.ts";
