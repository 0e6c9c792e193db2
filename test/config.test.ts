// Settings, read the same way by every process: an empty variable means its
// default on every side, and a bad one stops the process at start with a
// message that names the variable and the form it expects.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { readEnv } from "../edge/config.ts";
import { DEFAULTS } from "../shared/defaults.ts";
import { ConfigError } from "../shared/settings.ts";
import { readGatewayEnv, readRedisEnv, readWorkerEnv, redisTarget, replicaWait } from "../worker-node/config.ts";

const EDGE = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079", UPSTASH_REDIS_REST_TOKEN: "t" };

describe("one reading of the environment", () => {
  it("gives the edge and the worker the same prefix when EDGEQ_PREFIX is empty or unset", () => {
    for (const prefix of ["", undefined]) {
      expect(readWorkerEnv({ EDGEQ_PREFIX: prefix }).EDGEQ_PREFIX).toEqual([DEFAULTS.prefix]);
      expect(readRedisEnv({ EDGEQ_PREFIX: prefix }).EDGEQ_PREFIX).toBe(DEFAULTS.prefix);
      expect(readEnv({ ...EDGE, EDGEQ_PREFIX: prefix }).prefix).toBe(DEFAULTS.prefix);
    }
    expect(readWorkerEnv({ EDGEQ_PREFIX: "tenant-a" }).EDGEQ_PREFIX).toEqual(["tenant-a"]);
    // a worker may serve several deployments, one per prefix
    expect(readWorkerEnv({ EDGEQ_PREFIX: "tenant-a, tenant-b" }).EDGEQ_PREFIX).toEqual(["tenant-a", "tenant-b"]);
    expect(readEnv({ ...EDGE, EDGEQ_PREFIX: "tenant-a" }).prefix).toBe("tenant-a");
  });

  it("fills every default from shared/defaults.ts", () => {
    expect(readWorkerEnv({})).toEqual({
      REDIS_URL: DEFAULTS.redisUrl,
      EDGEQ_PREFIX: [DEFAULTS.prefix],
      LOG_LEVEL: DEFAULTS.logLevel,
      EDGEQ_LEASE_MS: DEFAULTS.leaseMs,
      EDGEQ_HEARTBEAT_MS: DEFAULTS.heartbeatMs,
      EDGEQ_MAINTENANCE_MS: DEFAULTS.maintenanceMs,
      EDGEQ_KILL_GRACE_MS: DEFAULTS.killGraceMs,
      EDGEQ_CALLBACK_ALLOW: [],
      EDGEQ_CALLBACK_CONCURRENCY: DEFAULTS.callbackConcurrency,
      EDGEQ_CALLBACK_ATTEMPTS: DEFAULTS.callbackAttempts,
      EDGEQ_CALLBACK_LEASE_MS: DEFAULTS.callbackLeaseMs,
      EDGEQ_CALLBACK_TIMEOUT_MS: DEFAULTS.callbackTimeoutMs,
      EDGEQ_CALLBACK_BACKOFF_MS: DEFAULTS.callbackBackoffMs,
      EDGEQ_HORSE_ENV: [],
      REDIS_SENTINEL_NAME: DEFAULTS.sentinelName,
      EDGEQ_WAIT_REPLICAS: DEFAULTS.waitReplicas,
      EDGEQ_WAIT_TIMEOUT_MS: DEFAULTS.waitTimeoutMs,
    });
    expect(readGatewayEnv({ GATEWAY_TOKEN: "x" })).toMatchObject({
      GATEWAY_PORT: DEFAULTS.gatewayPort,
      GATEWAY_HOST: DEFAULTS.gatewayHost,
      GATEWAY_POOL_SIZE: DEFAULTS.gatewayPoolSize,
      GATEWAY_MAX_BODY_BYTES: DEFAULTS.maxBodyBytes,
    });
  });

  it("GATEWAY_UPSTASH_PARITY is off unless 1, and refuses anything else by name", () => {
    expect(readGatewayEnv({ GATEWAY_TOKEN: "x" }).GATEWAY_UPSTASH_PARITY).toBe(false);
    expect(readGatewayEnv({ GATEWAY_TOKEN: "x", GATEWAY_UPSTASH_PARITY: "0" }).GATEWAY_UPSTASH_PARITY).toBe(false);
    expect(readGatewayEnv({ GATEWAY_TOKEN: "x", GATEWAY_UPSTASH_PARITY: "1" }).GATEWAY_UPSTASH_PARITY).toBe(true);
    expect(() => readGatewayEnv({ GATEWAY_TOKEN: "x", GATEWAY_UPSTASH_PARITY: "yes" })).toThrow(
      /GATEWAY_UPSTASH_PARITY: must be 1/,
    );
  });

  it("REDIS_SENTINELS and EDGEQ_WAIT_REPLICAS make a Sentinel target and a replica wait, or say why not", () => {
    const env = readRedisEnv({
      REDIS_URL: "rediss://app:secret@redis.internal/2",
      REDIS_SENTINELS: "10.0.0.1:26379, 10.0.0.2:26379",
      REDIS_SENTINEL_PASSWORD: "s",
      EDGEQ_WAIT_REPLICAS: "1",
    });
    expect(redisTarget(env)).toEqual({
      url: "rediss://app:secret@redis.internal/2",
      sentinel: { nodes: ["10.0.0.1:26379", "10.0.0.2:26379"], name: "mymaster", password: "s" },
    });
    expect(replicaWait(env)).toEqual({ replicas: 1, timeoutMs: DEFAULTS.waitTimeoutMs });
    expect(replicaWait(readRedisEnv({}))).toBeUndefined();
    const refused = (vars: Record<string, string>) => () => readRedisEnv(vars);
    expect(refused({ REDIS_SENTINELS: "nowhere" })).toThrow(
      /REDIS_SENTINELS: must list host:port of one or more Sentinels/,
    );
    expect(refused({ REDIS_SENTINELS: "a:1", REDIS_CLUSTER_NODES: "b:2" })).toThrow(/name two topologies/);
    expect(refused({ REDIS_CLUSTER_NODES: "b:2", EDGEQ_WAIT_REPLICAS: "1" })).toThrow(
      /EDGEQ_WAIT_REPLICAS: is not supported with REDIS_CLUSTER_NODES/,
    );
    expect(refused({ EDGEQ_WAIT_REPLICAS: "-1" })).toThrow(/EDGEQ_WAIT_REPLICAS: must be 0 \(off\) or more/);
  });

  it("EDGEQ_HORSE_ENV lists variable names for horses, and refuses anything else", () => {
    expect(readWorkerEnv({ EDGEQ_HORSE_ENV: "STRIPE_KEY, SENTRY_DSN" }).EDGEQ_HORSE_ENV).toEqual([
      "STRIPE_KEY",
      "SENTRY_DSN",
    ]);
    expect(() => readWorkerEnv({ EDGEQ_HORSE_ENV: "STRIPE_KEY=sk_live" })).toThrow(/EDGEQ_HORSE_ENV/);
  });

  it("names every bad variable at once, never its value", () => {
    const read = () =>
      readWorkerEnv({
        EDGEQ_LEASE_MS: "soon",
        EDGEQ_PREFIX: "has space",
        REDIS_URL: "http://secret@host",
        LOG_LEVEL: "loud",
      });
    expect(read).toThrow(ConfigError);
    const message = (() => {
      try {
        read();
      } catch (error) {
        return (error as Error).message;
      }
    })()!;
    for (const name of ["EDGEQ_LEASE_MS", "EDGEQ_PREFIX", "REDIS_URL", "LOG_LEVEL"]) expect(message).toContain(name);
    expect(message).toContain("redis:// or rediss://");
    expect(message).not.toContain("secret");
  });
});

describe("API_KEYS", () => {
  const message = (keys: unknown[]) => {
    try {
      readEnv({ ...EDGE, API_KEYS: JSON.stringify(keys) });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error("API_KEYS was accepted");
  };

  it("refuses a key the bearer parser cannot read, naming it, never quoting it", () => {
    // as it was: accepted at start, then every request with it answered 401
    for (const key of [
      "with a space 0123456789abcdef012",
      'quote"0123456789abcdef0123456789',
      "ünïcode-0123456789abcdef01234",
    ]) {
      const text = message([{ key, scopes: ["read"] }]);
      expect(text).toContain("API_KEYS.0.key: may hold only letters, digits");
      expect(text).not.toContain(key);
    }
  });

  it("takes a key's policy; refuses ceilings looser than the global ones and callback origins with a path", () => {
    const policy = {
      rateLimit: { requests: 600, perSec: 60 },
      callbackOrigins: ["https://hooks.example", "http://127.0.0.1:9000/"],
      maxTimeoutMs: 30_000,
      maxRetries: 3,
      maxDelaySec: 3_600,
    };
    expect(
      readEnv({ ...EDGE, API_KEYS: JSON.stringify([{ key: "k".repeat(24), scopes: ["enqueue"], ...policy }]) })
        .apiKeys[0],
    ).toMatchObject(policy);
    const text = message([
      {
        key: "k".repeat(24),
        scopes: ["enqueue"],
        rateLimit: { requests: 0, perSec: 60 },
        callbackOrigins: ["https://hooks.example/callbacks"],
        maxTimeoutMs: DEFAULTS.maxTimeoutMs + 1,
        maxRetries: DEFAULTS.maxRetries + 1,
        maxDelaySec: DEFAULTS.maxDelaySec + 1,
      },
    ]);
    for (const field of ["rateLimit.requests", "callbackOrigins.0", "maxTimeoutMs", "maxRetries", "maxDelaySec"]) {
      expect(text).toContain(`API_KEYS.0.${field}:`);
    }
  });
});

describe("a process with bad settings stops at start", () => {
  const run = async (file: string, env: Record<string, string>, args: string[] = []) => {
    try {
      await promisify(execFile)(process.execPath, ["--import", "tsx", file, ...args], {
        env: { PATH: process.env.PATH, ...env },
        timeout: 20_000,
      });
      return { code: 0, stderr: "" };
    } catch (error) {
      const e = error as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  };

  it("the worker names the variable", async () => {
    const { code, stderr } = await run("worker-node/main.ts", { EDGEQ_KILL_GRACE_MS: "-5" });
    expect(code).toBe(1);
    expect(stderr).toMatch(/EDGEQ_KILL_GRACE_MS: must be at least 1/);
  });

  it("the gateway asks for its token", async () => {
    const { code, stderr } = await run("worker-node/gateway/main.ts", {});
    expect(code).toBe(1);
    expect(stderr).toMatch(/GATEWAY_TOKEN: is required/);
  });

  it("the edge's Node entry names a bad port", async () => {
    const env = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1", UPSTASH_REDIS_REST_TOKEN: "t", EDGE_PORT: "abc" };
    const { code, stderr } = await run("edge/node-entry.ts", env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/EDGE_PORT: must be a port number/);
  });

  it("the admin CLI names a bad prefix", async () => {
    const { code, stderr } = await run("worker-node/cli/edgeq.ts", { EDGEQ_PREFIX: "{oops}" }, ["admin"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/EDGEQ_PREFIX: must be 1-64/);
  });
});
