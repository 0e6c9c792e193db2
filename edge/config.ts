// The edge's settings, read from the same variable names on Workers (bindings
// and secrets) and on Node (process.env). A bad setting stops the app with an
// error that names the variable and the field, never the secret's value.
import { z } from "zod";
import { DEFAULTS, groupNameSchema, queueNameSchema, taskNameSchema, type RedisClient } from "../shared/index.ts";
import { prefixSchema } from "../shared/names.ts";
import { ConfigError, jsonVariable, readSettings } from "../shared/settings.ts";
import { fromBase64 } from "./crypto.ts";

export { ConfigError };

/** metrics: GET /metrics only, for a Prometheus scraper. admin implies every other scope. */
export const SCOPES = ["enqueue", "read", "admin", "metrics"] as const;
export type Scope = (typeof SCOPES)[number];

/** RFC 6750's b64token: what a bearer token may be made of, and so what an API key may be made of. */
export const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

const originSchema = z.url({ protocol: /^https?$/, error: "must be an http(s) origin" }).refine((text) => {
  const url = new URL(text);
  return url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
}, "must be an origin alone, scheme://host[:port], without a path");

/** The flow-control options a key's policy may forbid (`forbid`) or, for group, force (`group`). */
export const FLOW_OPTIONS = ["group", "debounce", "dedupe"] as const;

/**
 * One entry of API_KEYS. `key` is the bearer token itself; `sha256` (hex of
 * the token's SHA-256) lets the secret hold no usable token at all. Without
 * `queues` the key reaches every queue. The rest is the key's policy
 * (edge/policy.ts): a request limit, where callbacks may go, and ceilings on
 * job options, which may be stricter than the global ones and not looser.
 */
export const apiKeySchema = z
  .strictObject({
    name: z.string().min(1).max(64).optional().describe("a label for logs; never the key"),
    key: z
      .string()
      .min(24, "must be at least 24 characters (e.g. `openssl rand -hex 32`)")
      .max(512)
      // a key the bearer parser cannot read would only ever answer 401
      .regex(TOKEN, "may hold only letters, digits, '-', '.', '_', '~', '+', '/' and trailing '='")
      .optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits")
      .optional(),
    scopes: z.array(z.enum(SCOPES)).min(1),
    queues: z.array(queueNameSchema).min(1).optional(),
    rateLimit: z
      .strictObject({
        requests: z.number().int().min(1).max(1_000_000),
        perSec: z.number().int().min(1).max(86_400),
      })
      .optional()
      .describe("at most `requests` requests in each window of `perSec` seconds"),
    callbackOrigins: z.array(originSchema).min(1).optional(),
    maxTimeoutMs: z.number().int().min(1).max(DEFAULTS.maxTimeoutMs).optional(),
    maxRetries: z.number().int().min(0).max(DEFAULTS.maxRetries).optional(),
    maxDelaySec: z.number().int().min(0).max(DEFAULTS.maxDelaySec).optional(),
    group: z
      .union([groupNameSchema, z.literal(true)])
      .optional()
      .describe("every job the key enqueues goes into this group (true: the key's name); another group is refused"),
    forbid: z.array(z.enum(FLOW_OPTIONS)).min(1).optional().describe("job options the key may not set"),
  })
  .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), { message: "give key or sha256, exactly one" })
  .refine((k) => k.group !== true || k.name !== undefined, {
    message: "group: true names the key's group after the key: give the key a name",
    path: ["group"],
  });
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;
/** At most `requests` requests in each window of `perSec` seconds (edge/policy.ts counts them). */
export type RateLimit = NonNullable<ApiKeyConfig["rateLimit"]>;

/** A dotted path into a JSON body, e.g. "repository.full_name". */
export const payloadPathSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/, "must be a dotted path such as repository.full_name");

export const HOOK_SCHEMES = ["standard", "github", "stripe", "hmac"] as const;
export type HookScheme = (typeof HOOK_SCHEMES)[number];
export const hookNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'");

/** One entry of HOOKS, keyed by the hook's name in `POST /v1/hooks/:hook`. */
export const hookSchema = z
  .strictObject({
    queue: queueNameSchema,
    task: taskNameSchema.optional().describe("the task each delivery is enqueued as (a hook with event may have none)"),
    scheme: z.enum(HOOK_SCHEMES),
    // Several secrets during a rotation: a delivery signed with any of them passes.
    secret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    toleranceSec: z.number().int().min(1).max(86_400).optional(),
    replayWindowSec: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .optional(),
    group: payloadPathSchema
      .optional()
      .describe("the job's group: the value at this path of the JSON body (a delivery without it has no group)"),
    event: payloadPathSchema
      .optional()
      .describe("sends an event to the queue, named by the value at this path, its data the body (ctx.waitForEvent)"),
    key: payloadPathSchema.optional().describe("the event's key: the value at this path of the JSON body"),
  })
  .refine((h) => h.task !== undefined || h.event !== undefined, {
    message: "a hook enqueues a task, sends an event, or both: give task or event",
    path: ["task"],
  })
  .refine((h) => h.key === undefined || h.event !== undefined, { message: "key goes with event", path: ["key"] })
  .refine(
    (h) => h.scheme !== "standard" || [h.secret].flat().every((s) => fromBase64(s.replace(/^whsec_/, ""))?.length),
    {
      message: 'a "standard" secret is whsec_ followed by base64',
      path: ["secret"],
    },
  );
export type HookConfig = z.infer<typeof hookSchema>;

export interface AppConfig {
  /** An @upstash/redis client (or ioredis, for Node-only deployments). */
  redis: RedisClient;
  /** Key prefix; default "edgeq". */
  prefix?: string;
  apiKeys: ApiKeyConfig[];
  hooks?: Record<string, HookConfig>;
  /** Origins allowed to call from a browser; "*" allows any. Default none. */
  corsOrigins?: string[];
  /** Largest request body; default 1 MiB. */
  maxBodyBytes?: number;
  /** Where the dashboard links a job's trace: an http(s) URL with {traceId} in it. Default none. */
  traceUrl?: string;
}

/** The variables both entries read; on Workers, vars and secrets. */
export interface EdgeEnv {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  API_KEYS?: string;
  HOOKS?: string;
  CORS_ORIGINS?: string;
  EDGEQ_PREFIX?: string;
  MAX_BODY_BYTES?: string | number;
  EDGEQ_TRACE_URL?: string;
}

const settingsSchema = z.object({
  UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  UPSTASH_REDIS_REST_TOKEN: z.string({ error: "is required" }),
  API_KEYS: z.array(apiKeySchema).default([]),
  HOOKS: z.record(hookNameSchema, hookSchema).default({}),
  CORS_ORIGINS: z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ })])).default([]),
  EDGEQ_PREFIX: prefixSchema.default(DEFAULTS.prefix),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(DEFAULTS.maxBodyBytes),
  EDGEQ_TRACE_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .refine((url) => url.includes("{traceId}"), { message: "must hold {traceId}, where the trace id goes" })
    .optional(),
});

/** Reads and checks every variable at once, so one deploy shows every mistake. */
export function readEnv(env: EdgeEnv): Omit<AppConfig, "redis"> & { redisUrl: string; redisToken: string } {
  const s = readSettings(settingsSchema, {
    UPSTASH_REDIS_REST_URL: env.UPSTASH_REDIS_REST_URL,
    UPSTASH_REDIS_REST_TOKEN: env.UPSTASH_REDIS_REST_TOKEN,
    API_KEYS: jsonVariable(env.API_KEYS, "API_KEYS", undefined),
    HOOKS: jsonVariable(env.HOOKS, "HOOKS", undefined),
    CORS_ORIGINS: env.CORS_ORIGINS?.split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    EDGEQ_PREFIX: env.EDGEQ_PREFIX,
    MAX_BODY_BYTES: env.MAX_BODY_BYTES,
    EDGEQ_TRACE_URL: env.EDGEQ_TRACE_URL,
  });
  return {
    redisUrl: s.UPSTASH_REDIS_REST_URL,
    redisToken: s.UPSTASH_REDIS_REST_TOKEN,
    apiKeys: s.API_KEYS,
    hooks: s.HOOKS,
    corsOrigins: s.CORS_ORIGINS.map((o) => (o === "*" ? o : new URL(o).origin)),
    prefix: s.EDGEQ_PREFIX,
    maxBodyBytes: s.MAX_BODY_BYTES,
    ...(s.EDGEQ_TRACE_URL && { traceUrl: s.EDGEQ_TRACE_URL }),
  };
}
