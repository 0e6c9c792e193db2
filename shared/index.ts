// The public producer API: import it in a Worker, a Node service or a script.
export { Queue, describeQueues, readJob } from "./queue.ts";
export type { WaitOptions, QueueOptions, JobRequest, Idempotency, Submitted, StatusCounts, QueueInfo, WorkerInfo } from "./queue.ts";
export type { JobView, Job, JobOptions, JobError, EnqueueRequest, JsonValue } from "./job.ts";
export {
  enqueueRequestSchema,
  jsonValueSchema,
  jobOptionsSchema,
  queueNameSchema,
  jobIdSchema,
  taskNameSchema,
  DEFAULTS,
} from "./job.ts";
export { STATUSES, TERMINAL_STATUSES, isTerminal, type JobStatus } from "./status.ts";
export {
  EdgeqError,
  ValidationError,
  PayloadTooLargeError,
  JobNotFoundError,
  JobStateError,
  IdempotencyConflictError,
  JobIdTakenError,
} from "./errors.ts";
export type { FieldIssue } from "./errors.ts";
export { Keys, DEFAULT_PREFIX } from "./keys.ts";
export type { RedisClient } from "./redis.ts";
