// The public producer API: import it in a Worker, a Node service or a script.
export { Queue } from "./queue.ts";
export type { QueueOptions, JobRequest, Idempotency, Submitted, JobPage, ChunkOptions, Reach } from "./queue.ts";
export { getJob, waitForJob, type WaitOptions } from "./lookup.ts";
export { readLog, logPageSchema, type LogPage } from "./log.ts";
export { describeQueues } from "./queue-info.ts";
export type { StatusCounts, QueueInfo, QueuesPage, QueueStats, WorkerInfo } from "./queue-info.ts";
export type {
  Attempt,
  Chunk,
  JobLog,
  LogLine,
  NumberedLogLine,
  QueueSettings,
  SettingsPatch,
  GroupPolicy,
  GroupPolicyPatch,
  GroupInfo,
  GroupLoad,
} from "./scripts/index.ts";
export { groupPolicySchema, defaultPolicySchema, limitSchema } from "./group.ts";
export type { GroupsListing, GroupPolicyView } from "./group.ts";
export type { JobView, Job, JobId, JobError, Enqueued } from "./job.ts";
export type { JsonValue } from "./names.ts";
export type { JobOptions, EnqueueRequest } from "./options.ts";
export {
  jsonValueSchema,
  queueNameSchema,
  jobIdSchema,
  taskNameSchema,
  groupNameSchema,
  eventNameSchema,
  queueEventIdSchema,
} from "./names.ts";
export { enqueueRequestSchema, jobOptionsSchema } from "./options.ts";
export { DEFAULTS, PREFIX } from "./defaults.ts";
export { STATUSES, TERMINAL_STATUSES, isTerminal, type JobStatus, type TerminalStatus } from "./status.ts";
export {
  EdgeqError,
  ValidationError,
  JobNotFoundError,
  JobStateError,
  IdempotencyConflictError,
  JobIdTakenError,
  ScheduleNotFoundError,
  InvalidPolicyError,
  RedisFullError,
  ReplicasBehindError,
} from "./errors.ts";
export type { ReplicaWait } from "./replicas.ts";
export { Schedules, scheduleSpecSchema, scheduleNameSchema } from "./schedule.ts";
export type { ScheduleSpec, ScheduleView } from "./schedule.ts";
export type { FieldIssue } from "./errors.ts";
export { Keys } from "./keys.ts";
export { traceContextOf, type TraceContext } from "./trace.ts";
export { EventTooLargeError, type EventOptions, type EventSent } from "./event.ts";
export type { RedisClient } from "./redis.ts";
export type {
  QueueEvent,
  QueueEventData,
  QueueEventItem,
  QueueEventName,
  QueueEventsGap,
  QueueEventsOptions,
} from "./queue-events.ts";
export type {
  ArgsOf,
  JobRequestOf,
  JsonSchema,
  ResultOf,
  TaskDeclaration,
  TaskDefinition,
  TaskMap,
  TaskWithArgs,
} from "./tasks.ts";
