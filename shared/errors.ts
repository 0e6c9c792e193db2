// Errors the producer API throws. Each says what is wrong in words a person
// can act on; the edge maps them to problem+json responses by `status`.

import type { z } from "zod";

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. "options.retry.max". */
  field: string;
  message: string;
}

export class EdgeqError extends Error {
  /** The HTTP status the edge answers with. */
  readonly status: number = 500;
  override name = "EdgeqError";
}

export class ValidationError extends EdgeqError {
  override readonly status = 400;
  override name = "ValidationError";
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; "));
  }
}

export class JobNotFoundError extends EdgeqError {
  override readonly status = 404;
  override name = "JobNotFoundError";
  constructor(readonly jobId: string) {
    super(`no job with id "${jobId}"`);
  }
}

export class ScheduleNotFoundError extends EdgeqError {
  override readonly status = 404;
  override name = "ScheduleNotFoundError";
  constructor(readonly scheduleName: string) {
    super(`no schedule named "${scheduleName}"`);
  }
}

/** The job exists but its status does not allow what was asked. */
export class JobStateError extends EdgeqError {
  override readonly status = 409;
  override name = "JobStateError";
  constructor(
    readonly jobId: string,
    readonly jobStatus: string,
    action: string,
  ) {
    super(`job "${jobId}" is ${jobStatus} and cannot be ${action}`);
  }
}

/** An Idempotency-Key reused with a different request. */
export class IdempotencyConflictError extends EdgeqError {
  override readonly status = 422;
  override name = "IdempotencyConflictError";
  constructor(readonly key: string) {
    super(`Idempotency-Key "${key}" was already used with a different request`);
  }
}

/** A client-chosen id that a job in another queue already has. */
export class JobIdTakenError extends EdgeqError {
  override readonly status = 409;
  override name = "JobIdTakenError";
  constructor(readonly jobId: string) {
    super(`job id "${jobId}" is taken by a job in another queue`);
  }
}

/** A policy whose numbers are out of range (a concurrency below 1, a window past a day): well-formed, not usable. */
export class InvalidPolicyError extends EdgeqError {
  override readonly status = 422;
  override name = "InvalidPolicyError";
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join("; "));
  }
}

/**
 * Redis refused a write for memory: `maxmemory` is reached under the `noeviction` policy. Nothing of the call was
 * written (Redis refuses a script at its first write that may grow memory, and lets one that has written finish);
 * the same call succeeds once memory is freed.
 */
export class RedisFullError extends EdgeqError {
  override readonly status = 503;
  override name = "RedisFullError";
  constructor() {
    super("Redis is out of memory (maxmemory reached): nothing was written; try again once memory is freed");
  }
}

/** Whether Redis answered an error for memory (its OOM reply), over TCP or through a REST gateway. */
export function isOutOfMemory(error: unknown): boolean {
  return error instanceof Error && error.message.includes("OOM command not allowed");
}

/** A schema's refusal as field issues, each field named by its dotted path under `root`. */
export function issuesOf(error: z.ZodError, root = ""): FieldIssue[] {
  const field = (path: PropertyKey[]) => [root, ...path.map(String)].filter(Boolean).join(".");
  return error.issues.flatMap((issue) =>
    // name each unknown field itself, not the object that holds it
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ field: field([...issue.path, key]), message: "is not a known field" }))
      : [{ field: field(issue.path), message: issue.message }],
  );
}

/** Parses with a schema, or throws a ValidationError naming every bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, root = ""): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, root));
  return parsed.data;
}

/** A batch's refusal names the job: its issues' fields under `prefix` ("jobs.2.args"). */
export function prefixIssues(error: unknown, prefix: string): unknown {
  if (!(error instanceof ValidationError)) return error;
  return new ValidationError(error.issues.map((i) => ({ ...i, field: `${prefix}.${i.field}` })));
}

/**
 * A write Redis applied that fewer replicas than asked confirmed having (WAIT, EDGEQ_WAIT_REPLICAS), or that Redis
 * itself refused for want of replicas (min-replicas-to-write): a failover now could lose it, so it is not
 * acknowledged. An enqueue refused so may still have created its job: retry it with the same job id.
 */
export class ReplicasBehindError extends EdgeqError {
  override readonly status = 503;
  override name = "ReplicasBehindError";
  constructor(detail: string) {
    super(`the write is not on enough replicas to survive a failover (${detail}); it may have been applied`);
  }
}
