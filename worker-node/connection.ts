// Where the Node processes (worker, admin CLI, gateway) get their TCP
// connections: one Redis server from REDIS_URL, a Redis Cluster from its seed
// nodes (REDIS_CLUSTER_NODES), or the master that Sentinel names
// (REDIS_SENTINELS, REDIS_SENTINEL_NAME), the last two with REDIS_URL's user,
// password and TLS. Every key of a deployment shares one hash slot, so every
// script, pipeline and blocking pop of one prefix goes to one node either
// way. Script calls go over a connection in one round trip, however many
// there are.
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { scriptRunner } from "../shared/redis.ts";
import { replicasBehind, replicationOf, type ReplicaWait } from "../shared/replicas.ts";
import { execPipeline, type Call, type ScriptRunner } from "../shared/script.ts";

export type Connection = Redis | Cluster;

export interface RedisTarget {
  url: string;
  /** host:port of a cluster's seed nodes; when given, the url lends only its credentials and TLS. */
  clusterNodes?: string[];
  /** Sentinels that name the master; when given, the url lends only its credentials, database and TLS. */
  sentinel?: SentinelTarget;
}

export interface SentinelTarget {
  /** host:port of each Sentinel. */
  nodes: string[];
  /** The name the Sentinels monitor the master by. */
  name: string;
  /** The Sentinels' own password (requirepass in their config), when they have one. */
  password?: string;
}

export function connect(target: RedisTarget, options: RedisOptions = {}): Connection {
  if (target.sentinel) return new Redis(sentinelOptions(target.url, target.sentinel, options));
  if (!target.clusterNodes?.length) return new Redis(target.url, options);
  return new Cluster(addresses(target.clusterNodes), {
    redisOptions: { ...credentialsOf(target.url), ...options },
    // commands wait out a failover or a restarting master instead of failing
    maxRedirections: 32,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    // a caller that does not reconnect (the admin CLI) gets its answer from a cluster too
    clusterRetryStrategy: options.retryStrategy ?? ((attempt) => Math.min(100 * 2 ** attempt, 2_000)),
  });
}

/**
 * A connection to whichever server Sentinel names master, following it through a failover: Sentinel's
 * +switch-master moves it at once (failoverDetector), and a master demoted under it, which answers writes with
 * READONLY, has it reconnect and send the refused command again, to the master Sentinel names now. A refused
 * write did not run, so sending it again applies it once. Its duplicates (subscribers, blocking waits) are the same.
 */
function sentinelOptions(url: string, sentinel: SentinelTarget, options: RedisOptions): RedisOptions {
  const { tls, ...credentials } = credentialsOf(url);
  const db = Number(new URL(url).pathname.slice(1) || 0);
  return {
    ...credentials,
    ...(db > 0 && { db }),
    // rediss:// is TLS to the Sentinels and to the servers they name
    ...(tls && { tls, enableTLSForSentinelMode: true, sentinelTLS: {} }),
    sentinels: addresses(sentinel.nodes),
    name: sentinel.name,
    ...(sentinel.password && { sentinelPassword: sentinel.password }),
    failoverDetector: true,
    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 2 : false),
    // a caller that does not reconnect (the admin CLI) gets its answer when no Sentinel answers either
    ...(options.retryStrategy && { sentinelRetryStrategy: options.retryStrategy }),
    ...options,
  };
}

/** REDIS_URL's user, password and TLS, for connections to the nodes a cluster or Sentinel names. */
function credentialsOf(text: string): RedisOptions {
  const url = new URL(text);
  return {
    ...(url.username && { username: decodeURIComponent(url.username) }),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    ...(url.protocol === "rediss:" && { tls: {} }),
  };
}

function addresses(nodes: string[]): { host: string; port: number }[] {
  return nodes.map((node) => {
    const at = node.lastIndexOf(":");
    return { host: node.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(node.slice(at + 1)) };
  });
}

/** A worker's connection, named `name` in CLIENT LIST. */
export function workerConnection(target: RedisTarget, name: string): Connection {
  return connect(target, {
    // hold commands while Redis is away instead of failing them: a result
    // finished during an outage is reported when Redis is back
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    connectionName: name,
  });
}

/** What each call of `calls` answers, in order. */
export type Replies<C extends Call<unknown>[]> = { [I in keyof C]: C[I] extends Call<infer R> ? R : never };

/** A connection with its script runner: script calls go over it in one round trip, however many. */
export class ScriptConnection {
  readonly runner: ScriptRunner;
  /** The scripts this connection has run: a new connection (a restart, a failover) starts with none cached. */
  readonly #known = new Set<string>();

  /** waitReplicas: what `runReplicated` waits for (EDGEQ_WAIT_REPLICAS). */
  constructor(
    readonly connection: Connection,
    readonly waitReplicas?: ReplicaWait,
  ) {
    this.runner = scriptRunner(connection);
    if (waitReplicas) replicationOf(this.runner);
    connection.on("close", () => this.#known.clear());
  }

  /**
   * `run`, then, with a replica wait, WAIT on the same connection until that many replicas have the writes, up to
   * `waits` times while the connection stays the same. Answers the replies, and why the writes are not known to be
   * on enough replicas when they are not (a failover now could undo them).
   */
  async runReplicated<C extends Call<unknown>[]>(
    calls: [...C],
    attempts: number,
    waits: number,
  ): Promise<[replies: Replies<C>, behind: string | undefined]> {
    const wait = this.waitReplicas;
    if (!wait) return [await this.run(calls, attempts), undefined];
    const replication = replicationOf(this.runner);
    const epoch = replication.epoch();
    const replies = await this.run(calls, attempts);
    let behind: string | undefined;
    for (let sent = 1; sent <= waits; sent++) {
      behind = await replicasBehind(replication, wait, epoch).catch((error: Error) => error.message);
      if (!behind || replication.epoch() !== epoch) break;
    }
    return [replies, behind];
  }

  /**
   * Runs script calls in one round trip: one alone, several in one pipeline (see execPipeline). Tries `attempts`
   * times in all while Redis is unreachable.
   */
  async run<C extends Call<unknown>[]>(calls: [...C], attempts = 1): Promise<Replies<C>> {
    for (let attempt = 1; ; attempt++) {
      try {
        // one call goes without a pipeline object: 8-18 µs of CPU less a call, measured
        if (calls.length === 1) {
          const [{ script, keys, argv, decode }] = calls;
          return [decode(await script.exec(this.runner, keys, argv))] as never;
        }
        const replies = await execPipeline(this.connection.pipeline(), this.runner, calls, this.#known);
        const failed = replies.at(-1);
        if (failed instanceof Error) throw failed;
        return replies as never;
      } catch (error) {
        if (attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000)));
      }
    }
  }
}
