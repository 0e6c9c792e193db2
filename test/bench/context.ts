// What every scenario gets: the Redis it measures against and how long to
// measure. `--quick` keeps a whole run under two minutes; the full profile
// runs longer rounds, more of them, and enough end-to-end jobs for a p99.
import { rmSync } from "node:fs";
import { Redis } from "ioredis";
import { startRedisServer } from "../support/redis.ts";
import { track, untrack, type Resource } from "./children.ts";

export interface Profile {
  name: "quick" | "full";
  rounds: number;
  /** Length of one round of a closed-loop load (PING, enqueue). */
  loadMs: number;
  /** Length of one round of the bare fork loop, which completes few operations per second. */
  forkMs: number;
  /** Target length of one processing round; its job count is sized from the warm-up. */
  processMs: number;
  /** End-to-end jobs per round, inline and fork-per-job (each waits for an idle worker). */
  e2eInlineJobs: number;
  e2eForkJobs: number;
  /** Least idle time counted, should the other scenarios end sooner (--only idle). */
  idleMinMs: number;
}

export const PROFILES: Record<Profile["name"], Profile> = {
  quick: {
    name: "quick",
    rounds: 3,
    loadMs: 400,
    forkMs: 600,
    processMs: 400,
    e2eInlineJobs: 40,
    e2eForkJobs: 8,
    idleMinMs: 10_000,
  },
  full: {
    name: "full",
    rounds: 5,
    loadMs: 2_000,
    forkMs: 3_000,
    processMs: 2_000,
    e2eInlineJobs: 200,
    e2eForkJobs: 60,
    idleMinMs: 65_000,
  },
};

/** Key prefix of every edgeq queue the bench creates. */
export const PREFIX = "bench";

/** A redis-server of the bench's own, and a connection for looking at it. */
export interface BenchRedis extends Resource {
  url: string;
  host: string;
  port: number;
  /** For INFO, polling and reading timestamps; never used by a measured client. */
  admin: Redis;
  version: string;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const server = await startRedisServer();
  const admin = new Redis(server.url, { connectionName: "bench-admin" });
  const info = await admin.info("server");
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  const redis: BenchRedis = {
    url: server.url,
    host: "127.0.0.1",
    port: server.port,
    admin,
    version,
    async stop() {
      admin.disconnect();
      await server.destroy();
      untrack(redis);
    },
    killNow() {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
  return track(redis);
}

export interface Context {
  redis: BenchRedis;
  profile: Profile;
}
