// A real three-master Redis Cluster for tests: redis-server with
// cluster-enabled on three free ports (and their bus ports), joined with
// `redis-cli --cluster create`, in a temporary directory removed at the end.
// AOF is on, so a master stopped and started again keeps its data and its
// place in the cluster.
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { freePort, redisServerArgs } from "../../worker-node/local-redis.ts";
import { spawnRedisServer, stopRedisServer } from "./redis.ts";
import { until } from "./until.ts";

export interface RedisClusterHandle {
  /** host:port of every master, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  ports: number[];
  /** The port of the master that holds a key's slot. */
  masterOf(key: string): Promise<number>;
  /** `name(0)`, `name(1)`, … until every master holds one: the first for each, in the order of `ports`. */
  onEachMaster(name: (i: number) => string): Promise<string[]>;
  /** A cluster client for the test itself. */
  client(): Cluster;
  stop(port: number): Promise<void>;
  start(port: number): Promise<void>;
  destroy(): Promise<void>;
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > 55_000) continue;
    if (await portFree(port + 10_000)) return port;
  }
}

async function portFree(port: number): Promise<boolean> {
  const { createServer } = await import("node:net");
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const root = await mkdtemp(join(tmpdir(), "edgeq-cluster-"));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await clusterPort());
  const servers = new Map<number, ChildProcess>();

  const start = async (port: number) => {
    const dir = join(root, String(port));
    await mkdir(dir, { recursive: true });
    const args = [
      ...redisServerArgs(port, dir, true),
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
    ];
    servers.set(port, await spawnRedisServer(args));
  };

  const stop = async (port: number) => {
    const proc = servers.get(port);
    servers.delete(port);
    await stopRedisServer(proc);
  };

  const healthy = async (port: number) => {
    const info = spawnSync("redis-cli", ["-p", String(port), "cluster", "info"], { encoding: "utf8" }).stdout;
    return info.includes("cluster_state:ok");
  };

  for (const port of ports) await start(port);
  const created = spawnSync(
    "redis-cli",
    ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
    { encoding: "utf8" },
  );
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await until("the cluster to be ok on every node", 20_000, async () => {
    for (const port of ports) if (!(await healthy(port))) return false;
    return true;
  });

  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  const handle: RedisClusterHandle = {
    nodes,
    ports,
    async masterOf(key) {
      const slot = Number(
        spawnSync("redis-cli", ["-p", String(ports[0]), "cluster", "keyslot", key], { encoding: "utf8" }).stdout,
      );
      const client = new Cluster(nodes.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })));
      try {
        const ranges = (await client.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no master holds slot ${slot}`);
        return range[2][1];
      } finally {
        client.disconnect();
      }
    },
    async onEachMaster(name) {
      const found = new Map<number, string>();
      for (let i = 0; found.size < ports.length; i++) {
        const key = name(i);
        const master = await handle.masterOf(key);
        if (!found.has(master)) found.set(master, key);
      }
      return ports.map((port) => found.get(port) as string);
    },
    client: () => new Cluster(ports.map((port) => ({ host: "127.0.0.1", port }))),
    stop,
    async start(port) {
      await start(port);
      await until(`the cluster to be ok again after :${port} came back`, 20_000, () => healthy(port));
    },
    async destroy() {
      for (const port of [...servers.keys()]) await stop(port);
      await rm(root, { recursive: true, force: true });
    },
  };
  return handle;
}
