// What an API key may do beyond its scopes and queues: how many requests it
// makes, and which job options it may set. A key a browser holds is a key
// strangers hold; these bound what a stranger can cost the deployment (worker
// time, Redis memory, metered Redis calls) and where its jobs may call back to.
import { DEFAULTS, ValidationError, type EnqueueRequest, type FieldIssue } from "../shared/index.ts";
import { scheduledAt } from "../shared/options.ts";
import type { ApiKeyConfig, RateLimit } from "./config.ts";
import { Problem } from "./problem.ts";
import { SCHEDULE_JOB_PREFIX } from "../shared/schedule.ts";
import { HOOK_JOB_PREFIX } from "./signatures.ts";
import type { Store } from "./store.ts";

/** Job ids that only edgeq itself hands out. */
const RESERVED_ID_PREFIXES = [
  [HOOK_JOB_PREFIX, "the webhook intake's"],
  [SCHEDULE_JOB_PREFIX, "the schedules'"],
] as const;

export interface KeyPolicy {
  /** null: unlimited. */
  rateLimit: RateLimit | null;
  /** Origins a job's callbackUrl may point at; empty: no callbackUrl at all. */
  callbackOrigins: ReadonlySet<string>;
  maxTimeoutMs: number;
  maxRetries: number;
  maxDelaySec: number;
  /** The group every job of the key goes into; null: any group the job names. */
  group: string | null;
  /** Flow-control options the key may not set. */
  forbid: ReadonlySet<string>;
}

/** The caller as a policy sees it: auth.ts's Principal is one, so that this module needs nothing of auth. */
export interface Caller {
  /** Names the key's counters. */
  id: string;
  policy: KeyPolicy;
}

/** A key's policy, with the global ceilings of shared/defaults.ts where it sets none. */
export function keyPolicy(key: ApiKeyConfig): KeyPolicy {
  return {
    rateLimit: key.rateLimit ?? null,
    callbackOrigins: new Set(key.callbackOrigins?.map((origin) => new URL(origin).origin)),
    maxTimeoutMs: key.maxTimeoutMs ?? DEFAULTS.maxTimeoutMs,
    maxRetries: key.maxRetries ?? DEFAULTS.maxRetries,
    maxDelaySec: key.maxDelaySec ?? DEFAULTS.maxDelaySec,
    group: key.group === true ? key.name! : (key.group ?? null),
    forbid: new Set(key.forbid),
  };
}

/** Counts a request against the key's limit; when the limit is spent, a 429 saying when to come back. */
export async function limitRequests(store: Store, principal: Caller, now: number = Date.now()): Promise<void> {
  const limit = principal.policy.rateLimit;
  if (!limit) return;
  const counted = await store.countRequest(principal.id, limit, now);
  if (counted.allowed) return;
  const retryAfterSec = Math.max(1, Math.ceil((counted.resetAt - now) / 1000));
  throw new Problem(
    429,
    "rate-limited",
    "Too many requests",
    `this API key may make ${limit.requests} requests per ${limit.perSec} s; try again in ${retryAfterSec} s`,
    { "Retry-After": String(retryAfterSec) },
  );
}

/** The job as this key may enqueue it, or a refusal naming the field (see `admitBatch`). */
export function admitJob(principal: Caller, request: EnqueueRequest, now: number = Date.now()): EnqueueRequest {
  return admit(principal, [request], () => "options", now)[0]!;
}

/**
 * The jobs as this key may enqueue them: an id in the webhook intake's
 * namespace is refused for everyone (400), an option beyond the key's policy
 * is refused (422), each naming its field; a job that leaves its timeout to
 * the default gets the key's ceiling when that is lower, and a key with a
 * group of its own puts every job into it.
 */
export function admitBatch(principal: Caller, requests: EnqueueRequest[], now: number = Date.now()): EnqueueRequest[] {
  return admit(principal, requests, (i) => `jobs.${i}.options`, now);
}

function admit(
  principal: Caller,
  requests: EnqueueRequest[],
  optionsField: (index: number) => string,
  now: number,
): EnqueueRequest[] {
  const policy = principal.policy;
  const reserved: FieldIssue[] = [];
  const refused: FieldIssue[] = [];
  const admitted = requests.map((request, i) => {
    const options = request.options ?? {};
    const field = (name: string) => `${optionsField(i)}.${name}`;
    // a key that could take a delivery's or a tick's id would answer for it before it happens
    for (const [prefix, owner] of RESERVED_ID_PREFIXES) {
      if (options.id?.startsWith(prefix)) {
        reserved.push({ field: field("id"), message: `must not start with "${prefix}": ${owner}` });
      }
    }
    if (options.callbackUrl !== undefined && !policy.callbackOrigins.has(new URL(options.callbackUrl).origin)) {
      refused.push({
        field: field("callbackUrl"),
        message: policy.callbackOrigins.size
          ? "must be on one of this API key's callbackOrigins"
          : "is not allowed for this API key, which lists no callbackOrigins",
      });
    }
    if (options.timeoutMs !== undefined && options.timeoutMs > policy.maxTimeoutMs) {
      refused.push({ field: field("timeoutMs"), message: `must be at most ${policy.maxTimeoutMs} for this API key` });
    }
    if (options.retry !== undefined && options.retry.max > policy.maxRetries) {
      refused.push({ field: field("retry.max"), message: `must be at most ${policy.maxRetries} for this API key` });
    }
    const runAt = scheduledAt(options, now);
    if (runAt !== undefined && runAt - now > policy.maxDelaySec * 1000) {
      refused.push({
        field: field(options.delayMs === undefined ? "runAt" : "delayMs"),
        message: `must be at most ${policy.maxDelaySec} s ahead for this API key`,
      });
    }
    for (const option of policy.forbid) {
      if (options[option as keyof typeof options] !== undefined) {
        refused.push({ field: field(option), message: "is not allowed for this API key" });
      }
    }
    if (policy.group !== null && options.group !== undefined && options.group !== policy.group) {
      refused.push({ field: field("group"), message: `must be "${policy.group}" (or left out) for this API key` });
    }
    const forced = {
      ...(options.timeoutMs === undefined &&
        policy.maxTimeoutMs < DEFAULTS.timeoutMs && {
          timeoutMs: policy.maxTimeoutMs,
        }),
      ...(policy.group !== null && { group: policy.group }),
    };
    return Object.keys(forced).length ? { ...request, options: { ...options, ...forced } } : request;
  });
  if (reserved.length) throw new ValidationError(reserved);
  if (refused.length) {
    const detail = refused.map((i) => `${i.field}: ${i.message}`).join("; ");
    throw new Problem(422, "not-allowed-for-key", "This API key may not set these options", detail, {}, refused);
  }
  return admitted;
}
