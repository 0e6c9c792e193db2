// Where the Node processes (worker, admin CLI) get their TCP connections:
// one Redis server from REDIS_URL, or a Redis Cluster from its seed nodes
// (REDIS_CLUSTER_NODES, with REDIS_URL's user, password and TLS). Every key
// of a deployment shares one hash slot, so every script, pipeline and
// blocking pop of one prefix goes to one node either way.
import { Cluster, Redis, type RedisOptions } from "ioredis";

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
