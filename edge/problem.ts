// RFC 9457 problem details. Every error the edge answers, from a bad bearer
// key to a bug, leaves through here as application/problem+json, so clients
// parse one shape and nothing internal (stack, Redis reply) ever leaks.
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { EdgeqError, ValidationError, type FieldIssue } from "../shared/index.ts";
import { issuesOf } from "../shared/errors.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldIssue[];
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

// The producer API's errors, by class name: a stable type URI and a title.
const EDGEQ_PROBLEMS: Record<string, [slug: string, title: string]> = {
  ValidationError: ["invalid-request", "The request is invalid"],
  JobNotFoundError: ["job-not-found", "No such job"],
  ScheduleNotFoundError: ["schedule-not-found", "No such schedule"],
  JobStateError: ["job-state", "The job's status does not allow this"],
  IdempotencyConflictError: ["idempotency-conflict", "Idempotency-Key reused with a different request"],
  JobIdTakenError: ["job-id-taken", "The job id is taken in another queue"],
  InvalidPolicyError: ["invalid-policy", "The limits asked for are out of range"],
  EventTooLargeError: ["event-too-large", "The event's data is larger than a job's result may be"],
  RedisFullError: ["redis-full", "Redis is out of memory"],
  ReplicasBehindError: ["replicas-behind", "The write is not on enough replicas to survive a failover"],
};

/** A problem the edge raises itself; thrown, and rendered by `onError`. */
export class Problem extends Error {
  override name = "Problem";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly headers: Record<string, string> = {},
    readonly errors: FieldIssue[] = [],
  ) {
    super(detail ?? title);
  }
}

function typeUri(slug: string | undefined): string {
  // A URN: stable and unique without promising a page to dereference.
  return slug ? `urn:edgeq:problem:${slug}` : "about:blank";
}

interface ProblemFields {
  slug?: string;
  title?: string;
  detail?: string;
  errors?: FieldIssue[];
}

export function problemBody(status: number, fields: ProblemFields): ProblemBody {
  return {
    type: typeUri(fields.slug),
    title: fields.title ?? REASONS[status] ?? "Error",
    status,
    ...(fields.detail !== undefined && { detail: fields.detail }),
    ...(fields.errors?.length && { errors: fields.errors }),
  };
}

/** A problem response through the context, so headers set by middleware (request id, CORS) stay on it. */
export function problem(
  c: Context,
  status: ContentfulStatusCode,
  fields: ProblemFields,
  headers: Record<string, string> = {},
): Response {
  return c.body(JSON.stringify(problemBody(status, fields)), status, {
    ...headers,
    "Content-Type": PROBLEM_CONTENT_TYPE,
  });
}

/** Renders anything thrown by a route or middleware. */
export const onError: ErrorHandler = (error, c) => {
  if (error instanceof Problem) {
    const { slug, title, detail, errors } = error;
    return problem(c, error.status, { slug, title, detail, errors }, error.headers);
  }
  if (error instanceof EdgeqError) {
    const [slug, title] = EDGEQ_PROBLEMS[error.name] ?? [undefined, undefined];
    // the refusals that name fields carry them (ValidationError, InvalidPolicyError, EventTooLargeError)
    const errors = "issues" in error ? (error.issues as FieldIssue[]) : undefined;
    return problem(c, error.status as ContentfulStatusCode, { slug, title, detail: error.message, errors });
  }
  if (error instanceof HTTPException) {
    // Hono's own refusals (malformed JSON, wrong media type): its messages are
    // fixed strings, safe to pass on.
    const status = error.status as ContentfulStatusCode;
    return problem(c, status, { detail: error.message || undefined });
  }
  // A bug or an unreachable Redis: log it with the request id, answer without detail.
  const requestId = c.get("requestId") as string | undefined;
  console.error(
    JSON.stringify({
      level: "error",
      requestId,
      method: c.req.method,
      path: c.req.path,
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    }),
  );
  return problem(c, 500, { detail: `an unexpected error occurred (request ${requestId ?? "unknown"})` });
};

export const notFound: NotFoundHandler = (c) =>
  problem(c, 404, {
    slug: "no-route",
    title: "No such route",
    detail: `${c.req.method} ${c.req.path} is not part of the API`,
  });

/** The zod-openapi validation hook: a failed parse becomes a 400 naming every bad field. */
export function validationHook(result: { success: true } | { success: false; error: z.ZodError }): void {
  if (!result.success) throw new ValidationError(issuesOf(result.error));
}
