// The environment of the Node processes: the worker, the admin CLI and the
// gateway read their variables here, with the defaults of shared/defaults.ts,
// so that all three (and the edge, edge/config.ts) agree on what an unset or
// empty variable means. A bad value stops the process at start, naming the
// variable and the form it expects.
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { DEFAULTS } from "../shared/defaults.ts";
import { prefixSchema } from "../shared/names.ts";
import type { ReplicaWait } from "../shared/replicas.ts";
import { ConfigError, portSetting, readSettings } from "../shared/settings.ts";
import type { RedisTarget } from "./connection.ts";

export { ConfigError };

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const wholeMs = (fallback: number) =>
  z.coerce
    .number({ error: "must be a whole number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(1, "must be at least 1")
    .default(fallback);

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;

// "10.0.0.1:7000,10.0.0.2:7000": a Redis Cluster's seed nodes, or Sentinels; REDIS_URL then only lends its
// user, password and TLS
const hostPorts = (what: string) =>
  z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((node) => node.trim())
        .filter(Boolean),
    )
    .refine((nodes) => nodes.length > 0 && nodes.every((node) => HOST_PORT.test(node)), {
      message: `must list host:port of one or more ${what}, comma-separated`,
    })
    .optional();

const redisSettings = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).default(DEFAULTS.redisUrl),
  REDIS_CLUSTER_NODES: hostPorts("cluster nodes"),
  REDIS_SENTINELS: hostPorts("Sentinels"),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, "must be the name Sentinel monitors the master by")
    .default(DEFAULTS.sentinelName),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  EDGEQ_WAIT_REPLICAS: z.coerce
    .number({ error: "must be a whole number of replicas" })
    .int("must be a whole number of replicas")
    .min(0, "must be 0 (off) or more")
    .default(DEFAULTS.waitReplicas),
  EDGEQ_WAIT_TIMEOUT_MS: z.coerce
    .number({ error: "must be a whole number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(1, "must be at least 1")
    .default(DEFAULTS.waitTimeoutMs),
  EDGEQ_PREFIX: prefixSchema.default(DEFAULTS.prefix),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default(DEFAULTS.logLevel),
});

type RedisFields = Pick<
  z.output<typeof redisSettings>,
  "REDIS_CLUSTER_NODES" | "REDIS_SENTINELS" | "EDGEQ_WAIT_REPLICAS"
>;

/** A schema of the Redis variables with the checks across them: settings that cannot go together are refused. */
function checked<T extends z.ZodType<RedisFields>>(schema: T) {
  return (
    schema
      .refine((s) => !(s.REDIS_CLUSTER_NODES && s.REDIS_SENTINELS), {
        message: "REDIS_CLUSTER_NODES and REDIS_SENTINELS name two topologies: set one",
        path: ["REDIS_SENTINELS"],
      })
      // WAIT counts the replicas of the node it is sent to; a cluster's scripts go to the node of their slot
      .refine((s) => !(s.REDIS_CLUSTER_NODES && s.EDGEQ_WAIT_REPLICAS > 0), {
        message: "is not supported with REDIS_CLUSTER_NODES (use Redis's own min-replicas-to-write there)",
        path: ["EDGEQ_WAIT_REPLICAS"],
      })
  );
}

const count = (fallback: number) =>
  z.coerce
    .number({ error: "must be a whole number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .default(fallback);

// "receiver.internal", "10.1.2.3", "10.1.0.0/16", "fd00::/8": what callbacks may reach inside the network
const ALLOW_ENTRY = /^(?:[A-Za-z0-9.-]+|[0-9.]+(?:\/(?:[0-9]|[12][0-9]|3[0-2]))?|[0-9A-Fa-f:.]+(?:\/(?:\d{1,3}))?)$/;

/** "STRIPE_KEY,SENTRY_DSN": names of environment variables, as EDGEQ_HORSE_ENV and --horse-env list them. */
export const envNames = z
  .string()
  .transform((text) =>
    text
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean),
  )
  .refine(
    (names) => names.every((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)),
    "must list variable names, comma-separated",
  );

const workerSettings = redisSettings.extend({
  // a worker may serve several deployments, on different shards of a cluster: their prefixes, comma-separated
  EDGEQ_PREFIX: z
    .string()
    .transform((text) => text.split(",").map((prefix) => prefix.trim()))
    .pipe(z.array(prefixSchema).min(1))
    .default([DEFAULTS.prefix]),
  EDGEQ_LEASE_MS: wholeMs(DEFAULTS.leaseMs),
  EDGEQ_HEARTBEAT_MS: wholeMs(DEFAULTS.heartbeatMs),
  EDGEQ_MAINTENANCE_MS: wholeMs(DEFAULTS.maintenanceMs),
  EDGEQ_KILL_GRACE_MS: wholeMs(DEFAULTS.killGraceMs),
  EDGEQ_CALLBACK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, "must be whsec_ followed by base64 (a Standard Webhooks secret)")
    .optional(),
  EDGEQ_CALLBACK_ALLOW: z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .refine((entries) => entries.every((entry) => ALLOW_ENTRY.test(entry)), "must list host names, addresses or CIDRs")
    .default([]),
  EDGEQ_CALLBACK_CONCURRENCY: count(DEFAULTS.callbackConcurrency),
  EDGEQ_CALLBACK_ATTEMPTS: count(DEFAULTS.callbackAttempts),
  EDGEQ_CALLBACK_LEASE_MS: wholeMs(DEFAULTS.callbackLeaseMs),
  EDGEQ_CALLBACK_TIMEOUT_MS: wholeMs(DEFAULTS.callbackTimeoutMs),
  EDGEQ_CALLBACK_BACKOFF_MS: wholeMs(DEFAULTS.callbackBackoffMs),
  EDGEQ_HORSE_ENV: envNames.default([]),
});

// Several tokens are valid at once while one is rotated out. Messages never
// quote the text: it is a secret.
const tokenList = (error: string) =>
  z
    .string({ error })
    .refine((text) => text.split(",").every((token) => token.trim() !== ""), "has an empty token between commas")
    .transform((text) => text.split(",").map((token) => token.trim()));

const gatewaySettings = redisSettings.omit({ EDGEQ_PREFIX: true }).extend({
  GATEWAY_TOKEN: tokenList("is required: the bearer token clients send as their Upstash token (comma-separated list)"),
  GATEWAY_READONLY_TOKEN: tokenList("must be a comma-separated list of tokens").default([]),
  GATEWAY_ACL: z.enum(["provision", "off"], { error: "must be provision or off" }).default(DEFAULTS.gatewayAcl),
  GATEWAY_PORT: portSetting(DEFAULTS.gatewayPort),
  GATEWAY_HOST: z.string().default(DEFAULTS.gatewayHost),
  GATEWAY_UPSTASH_PARITY: z
    .enum(["0", "1"], { error: "must be 1 (serve what Upstash serves: KEYS, FLUSHALL, …) or 0" })
    .default("0")
    .transform((on) => on === "1"),
  GATEWAY_MAX_BODY_BYTES: z.coerce.number().int().min(1024, "must be at least 1024").default(DEFAULTS.maxBodyBytes),
  GATEWAY_POOL_SIZE: z.coerce.number().int().min(1, "must be at least 1").max(256).default(DEFAULTS.gatewayPoolSize),
  GATEWAY_MAX_SUBSCRIPTIONS: z.coerce
    .number()
    .int("must be a whole number")
    .min(0, "must be 0 (no subscriptions) or more")
    .default(DEFAULTS.gatewayMaxSubscriptions),
});

export type RedisSettings = z.output<typeof redisSettings>;
/** The variables that say where Redis is and what its writes wait for, which every process reads alike. */
type RedisTopology = Omit<RedisSettings, "EDGEQ_PREFIX" | "LOG_LEVEL">;
export type WorkerSettings = z.output<typeof workerSettings>;
export type GatewaySettings = z.output<typeof gatewaySettings>;

type Env = Record<string, string | undefined>;

/** The admin CLI's variables. */
export function readRedisEnv(env: Env = process.env): RedisSettings {
  return readSettings(checked(redisSettings), pick(env, redisSettings.keyof().options));
}

export function readWorkerEnv(env: Env = process.env): WorkerSettings {
  return readSettings(checked(workerSettings), pick(env, workerSettings.keyof().options));
}

export function readGatewayEnv(env: Env = process.env): GatewaySettings {
  return readSettings(checked(gatewaySettings), pick(env, gatewaySettings.keyof().options));
}

/** Where the variables say Redis is: REDIS_URL, or a Cluster or Sentinels with REDIS_URL lending them its user. */
export function redisTarget(settings: RedisTopology): RedisTarget {
  const { REDIS_URL: url, REDIS_CLUSTER_NODES: clusterNodes, REDIS_SENTINELS: sentinels } = settings;
  if (!sentinels) return { url, clusterNodes };
  const sentinel = { nodes: sentinels, name: settings.REDIS_SENTINEL_NAME, password: settings.REDIS_SENTINEL_PASSWORD };
  return { url, sentinel };
}

/** EDGEQ_WAIT_REPLICAS and its timeout; undefined when off. */
export function replicaWait(settings: RedisTopology): ReplicaWait | undefined {
  const { EDGEQ_WAIT_REPLICAS: replicas, EDGEQ_WAIT_TIMEOUT_MS: timeoutMs } = settings;
  return replicas > 0 ? { replicas, timeoutMs } : undefined;
}

/**
 * Where a worker may write its compiled horses, best first: EDGEQ_CACHE_DIR
 * alone when set, else the XDG cache directory, ~/.cache, then the OS temp
 * directory. Never inside the package: an installed package may be read-only
 * (a container image, a global install) and is not the worker's to write.
 */
export function cacheDirs(env: Env = process.env): string[] {
  if (env.EDGEQ_CACHE_DIR) return [resolve(env.EDGEQ_CACHE_DIR)];
  const home = homedir();
  const dirs = [
    // the XDG spec: a relative XDG_CACHE_HOME is invalid and ignored
    env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? join(env.XDG_CACHE_HOME, "edgeq") : "",
    home ? join(home, ".cache", "edgeq") : "",
    // one per user: the temp directory is shared
    join(tmpdir(), `edgeq-${process.getuid?.() ?? "user"}`),
  ];
  return dirs.filter(Boolean);
}

/** Only the variables a schema names: process.env holds much else. */
function pick(env: Env, names: readonly string[]): Env {
  return Object.fromEntries(names.map((name) => [name, env[name]]));
}

/** Runs a process's start, or prints the ConfigError and exits 1 (2 for usage errors is the caller's). */
export function orExit<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${what}: ${error.message}`);
    process.exit(1);
  }
}
