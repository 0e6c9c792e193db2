// A real Sentinel deployment for tests: a master, a replica started with
// --replicaof, and three `redis-server --sentinel` processes, each with a
// config file of its own (Sentinel rewrites it), all on free ports in a
// temporary directory removed at the end. AOF is on, as a deployment that
// cares about failover runs it. Sentinel is told a master is down after a
// second, so a failover finishes within a few seconds.
import { spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { freePort, redisServerArgs } from "../../worker-node/local-redis.ts";
import { spawnRedisServer, stopRedisServer } from "./redis.ts";
import { until } from "./until.ts";

export interface SentinelHandle {
  /** host:port of each Sentinel, as REDIS_SENTINELS takes them. */
  sentinels: string[];
  /** The name they monitor the master by, as REDIS_SENTINEL_NAME takes it. */
  name: string;
  /** The ports of the two data servers: the first starts as master. */
  ports: [number, number];
  /** The port of the master, as the Sentinels name it now. */
  master(): Promise<number>;
  /** A client that follows the master Sentinel names. */
  client(options?: RedisOptions): Redis;
  /** A plain client of one server. */
  node(port: number): Redis;
  /** SIGKILL to one data server: no AOF flush, no goodbye to its replicas. */
  kill(port: number): Promise<void>;
  /** Starts a data server again on its port and directory; Sentinel makes a former master a replica. */
  start(port: number): Promise<void>;
  /** Asks the Sentinels for a failover (SENTINEL FAILOVER): the master is demoted, the replica promoted. */
  failover(): Promise<void>;
  /** Until the Sentinels name another master than `port`, and it takes writes; answers its port. */
  failedOver(port: number, timeoutMs?: number): Promise<number>;
  /** Until `port` is a replica of the master, in sync. */
  replicating(port: number, timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

const NAME = "mymaster";
const DOWN_AFTER_MS = 1_000;

/** INFO's fields of one section, as a record. */
function info(port: number, section: string): Record<string, string> {
  const text = spawnSync("redis-cli", ["-p", String(port), "info", section], { encoding: "utf8" }).stdout ?? "";
  const fields = text.split(/\r?\n/).filter((line) => line.includes(":"));
  return Object.fromEntries(
    fields.map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
  );
}

export async function startSentinels(): Promise<SentinelHandle> {
  const root = await mkdtemp(join(tmpdir(), "edgeq-sentinel-"));
  const ports: [number, number] = [await freePort(), await freePort()];
  const servers = new Map<number, ChildProcess>();
  const sentinelPorts: number[] = [];
  const sentinels: ChildProcess[] = [];

  const start = async (port: number, replicaOf?: number) => {
    const dir = join(root, String(port));
    await mkdir(dir, { recursive: true });
    // fsync once a second, as a replicated deployment usually runs: the replica, not the disk, keeps a write
    const args = [...redisServerArgs(port, dir, true), "--appendfsync", "everysec", "--repl-diskless-sync-delay", "0"];
    if (replicaOf !== undefined) args.push("--replicaof", "127.0.0.1", String(replicaOf));
    servers.set(port, await spawnRedisServer(args));
  };
  const [first, second] = ports;
  await start(first);
  await start(second, first);
  const replicating = async (port: number, timeoutMs = 30_000) => {
    await until(`:${port} to replicate the master in sync`, timeoutMs, () => {
      const replication = info(port, "replication");
      return replication.role === "slave" && replication.master_link_status === "up";
    });
  };
  await replicating(second);

  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = join(root, `sentinel-${port}`);
    await mkdir(dir);
    const config = join(dir, "sentinel.conf");
    await writeFile(
      config,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${NAME} 127.0.0.1 ${first} 2`,
        `sentinel down-after-milliseconds ${NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${NAME} 10000`,
        `sentinel parallel-syncs ${NAME} 1`,
        "",
      ].join("\n"),
    );
    sentinels.push(await spawnRedisServer([config, "--sentinel"], "+monitor master"));
    sentinelPorts.push(port);
  }

  const sentinelAsk = (...args: string[]): string =>
    spawnSync("redis-cli", ["-p", String(sentinelPorts[0]), "sentinel", ...args], { encoding: "utf8" }).stdout ?? "";
  // each Sentinel must know the replica and the others before a failover can be agreed on
  await until("the Sentinels to know the replica and each other", 30_000, () =>
    sentinelPorts.every((port) => {
      const fields = info(port, "sentinel");
      return /slaves=1,sentinels=3/.test(fields.master0 ?? "");
    }),
  );

  const master = async () => Number(sentinelAsk("get-master-addr-by-name", NAME).trim().split(/\s+/)[1]);
  return {
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`),
    name: NAME,
    ports,
    master,
    client: (options = {}) =>
      new Redis({ sentinels: sentinelPorts.map((port) => ({ host: "127.0.0.1", port })), name: NAME, ...options }),
    node: (port) => new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: null }),
    async kill(port) {
      const proc = servers.get(port);
      servers.delete(port);
      if (!proc || proc.exitCode !== null) return;
      const exited = once(proc, "exit");
      proc.kill("SIGKILL");
      await exited;
    },
    start: (port) => start(port),
    async failover() {
      const answer = sentinelAsk("failover", NAME).trim();
      if (answer !== "OK") throw new Error(`SENTINEL FAILOVER answered ${answer}`);
    },
    async failedOver(port, timeoutMs = 60_000) {
      return until(`Sentinel to promote a replica in place of :${port}`, timeoutMs, async () => {
        const now = await master();
        return now !== port && info(now, "replication").role === "master" ? now : undefined;
      });
    },
    replicating,
    async destroy() {
      for (const proc of [...sentinels, ...servers.values()]) await stopRedisServer(proc);
      await rm(root, { recursive: true, force: true });
    },
  };
}
