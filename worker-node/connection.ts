// Where the Node processes (worker, admin CLI) get their TCP connections:
// one Redis server from REDIS_URL, or a Redis Cluster from its seed nodes
// (REDIS_CLUSTER_NODES, with REDIS_URL's user, password and TLS). Every key
// of a deployment shares one hash slot, so every script, pipeline and
// blocking pop of one prefix goes to one node either way. Script calls go
// over a connection in one round trip, however many there are.
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { scriptRunner } from "../shared/redis.ts";
import { execPipeline, type Call, type ScriptRunner } from "../shared/script.ts";

export type Connection = Redis | Cluster;

export interface RedisTarget {
  url: string;
  /** host:port of a cluster's seed nodes; when given, the url lends only its credentials and TLS. */
  clusterNodes?: string[];
}

export function connect(target: RedisTarget, options: RedisOptions = {}): Connection {
  if (!target.clusterNodes?.length) return new Redis(target.url, options);
  const url = new URL(target.url);
  const credentials: RedisOptions = {
    ...(url.username && { username: decodeURIComponent(url.username) }),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    ...(url.protocol === "rediss:" && { tls: {} }),
  };
  const nodes = target.clusterNodes.map((node) => {
    const at = node.lastIndexOf(":");
    return { host: node.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(node.slice(at + 1)) };
  });
  return new Cluster(nodes, {
    redisOptions: { ...credentials, ...options },
    // commands wait out a failover or a restarting master instead of failing
    maxRedirections: 32,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    // a caller that does not reconnect (the admin CLI) gets its answer from a cluster too
    clusterRetryStrategy: options.retryStrategy ?? ((attempt) => Math.min(100 * 2 ** attempt, 2_000)),
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

  constructor(readonly connection: Connection) {
    this.runner = scriptRunner(connection);
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
        const replies = await execPipeline(this.connection.pipeline(), this.runner, calls);
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
