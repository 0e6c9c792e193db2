// The Redis user the gateway runs as. Upstash serves data commands and
// scripting, not server administration, and neither does the gateway: its
// connections belong to a user that Redis itself denies every @admin and
// @dangerous command. A script runs with its caller's permissions, so that
// holds inside EVAL too, where no list of command names in the gateway can
// look.
//
// REDIS_URL may name such a user (production: the operator creates it, README
// "The gateway's Redis user"). If its user may administer the server instead
// (the default user of a plain redis-server, as `npm run dev` starts), the
// gateway uses that power once: it creates the restricted user and connects
// as it. Refusing to start would only make every developer do by hand what
// the gateway can do itself.
//
// GATEWAY_UPSTASH_PARITY makes another user, which may also run what Upstash
// serves of @dangerous (KEYS, FLUSHALL, …), for a local stand-in for Upstash.
import { createHmac } from "node:crypto";
import { Redis } from "ioredis";
import type pino from "pino";
import type { RedisTarget, SentinelTarget } from "../connection.ts";
import { nodeUrl } from "./cluster.ts";
import { errorMessage, UPSTASH_DANGEROUS } from "./protocol.ts";

/** `provision`: connect as a user without admin rights, made through REDIS_URL if need be; `off`: as REDIS_URL. */
export type AclMode = "provision" | "off";

export const GATEWAY_USER = "edgeq-gateway";
/** ACL SETUSER rules of the gateway's user: every key and channel, every command but administration. */
export const GATEWAY_USER_RULES = ["~*", "&*", "+@all", "-@admin", "-@dangerous"] as const;

/** The user the gateway makes, and what it may run of administration: nothing, or what Upstash serves (parity). */
interface Profile {
  name: string;
  rules: readonly string[];
  /** Lower-case names, as COMMAND LIST gives them. */
  served: ReadonlySet<string>;
}

const RESTRICTED: Profile = { name: GATEWAY_USER, rules: GATEWAY_USER_RULES, served: new Set() };
// A user of its own, so that a parity gateway and a plain one in front of the same Redis never remake each other's.
const UPSTASH_PARITY: Profile = {
  name: "edgeq-gateway-upstash",
  rules: [...GATEWAY_USER_RULES, ...UPSTASH_DANGEROUS.map((name) => `+${name.toLowerCase()}`)],
  served: new Set(UPSTASH_DANGEROUS.map((name) => name.toLowerCase())),
};

const HOW_TO = `create a user (README: "The gateway's Redis user") and put it in REDIS_URL, or set GATEWAY_ACL=off`;

export interface GatewayUser {
  /** What every connection of the gateway connects to, as whom. */
  url: string;
  /** Makes the user again, when the gateway made it: a restarted Redis forgets users it was not configured with. */
  restore?: () => Promise<void>;
}

/** parity: the user may also run what Upstash serves of @dangerous (GATEWAY_UPSTASH_PARITY). */
export async function gatewayUser(
  target: RedisTarget,
  mode: AclMode,
  logger: pino.Logger,
  parity = false,
): Promise<GatewayUser> {
  const profile = parity ? UPSTASH_PARITY : RESTRICTED;
  if (mode === "off") {
    logger.warn("GATEWAY_ACL=off: gateway clients get the permissions of REDIS_URL's user, inside scripts too");
    return { url: target.url };
  }
  const nodes = await nodeUrls(target);
  const allowedOn = await Promise.all(nodes.map((url) => withConnection(url, (c) => mayAdminister(c, profile))));
  const allowed = allowedOn.find((first) => first !== null) ?? null;
  const denied = allowedOn.indexOf(null);
  if (allowed !== null && denied !== -1) {
    throw new Error(
      `REDIS_URL's user may run ${allowed} on some nodes of the cluster but not on ` +
        `${new URL(nodes[denied] as string).host}: give it the same rights on every node, or ${HOW_TO}`,
    );
  }
  if (allowed === null) return { url: target.url };

  const password = derivedPassword(new URL(target.url), profile.name);
  const make = async (urls: string[]): Promise<void> => {
    await Promise.all(urls.map((url) => withConnection(url, (connection) => setUser(connection, profile, password))));
  };
  await make(nodes).catch((err: unknown) => {
    throw new Error(
      `REDIS_URL's user may run ${allowed} and cannot make a restricted user (${errorMessage(err)}): ${HOW_TO}`,
    );
  });
  const restricted = (url: string): string => {
    const as = new URL(url);
    as.username = profile.name;
    as.password = password;
    return as.toString();
  };
  for (const url of nodes) {
    const still = await withConnection(restricted(url), (c) => adminCommandAllowed(c, profile.served));
    if (still !== null) throw new Error(`the Redis user ${profile.name} may still run ${still}: ${HOW_TO}`);
  }
  logger.info(
    { user: profile.name, rules: profile.rules.join(" "), nodes: nodes.length },
    `REDIS_URL's user may run ${allowed}; the gateway made a restricted Redis user and connects as it`,
  );
  // A cluster's nodes are asked again: the node that forgot the user may be one added since, or a promoted replica.
  return { url: restricted(target.url), restore: async () => make(await nodeUrls(target)) };
}

/** What the connection's user may run of server administration past the profile's, refusing a gateway user that may. */
async function mayAdminister(connection: Redis, profile: Profile): Promise<string | null> {
  const allowed = await adminCommandAllowed(connection, profile.served);
  if (allowed !== null && (await connection.call("ACL", "WHOAMI")) === profile.name) {
    throw new Error(`the Redis user ${profile.name} in REDIS_URL may run ${allowed}; restrict it, or ${HOW_TO}`);
  }
  return allowed;
}

// ACL is each node's own: Redis Cluster shares neither users nor their
// changes, not even with a master's replicas. Every node CLUSTER SLOTS lists,
// masters and replicas, gets the user, so that a promoted replica has it too.
async function nodeUrls(target: RedisTarget): Promise<string[]> {
  if (target.sentinel) return sentinelNodeUrls(target.url, target.sentinel);
  if (!target.clusterNodes?.length) return [target.url];
  let lastError: unknown;
  for (const seed of target.clusterNodes) {
    try {
      // [[first slot, last slot, [host, port, id, …] of the master, … of each replica], …]
      const colon = seed.lastIndexOf(":");
      const seedUrl = nodeUrl(target.url, seed.slice(0, colon), seed.slice(colon + 1));
      const ranges = await withConnection(seedUrl, (connection) => connection.call("CLUSTER", "SLOTS"));
      const nodes = (ranges as unknown[][]).flatMap((range) => range.slice(2) as [string, number][]);
      return [...new Set(nodes.map(([host, port]) => nodeUrl(target.url, host, port)))];
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`cannot ask any node of REDIS_CLUSTER_NODES for the cluster's nodes: ${errorMessage(lastError)}`);
}

// Under Sentinel, the same: the master and each replica Sentinel knows and
// sees up, so that the replica a failover promotes has the user already.
async function sentinelNodeUrls(url: string, sentinel: SentinelTarget): Promise<string[]> {
  let lastError: unknown;
  for (const node of sentinel.nodes) {
    const colon = node.lastIndexOf(":");
    const at = new URL(nodeUrl(url, node.slice(0, colon), node.slice(colon + 1)));
    // a Sentinel has a password of its own, or none
    at.username = "";
    at.password = sentinel.password ? encodeURIComponent(sentinel.password) : "";
    at.pathname = "";
    try {
      return await withConnection(at.toString(), async (connection) => {
        const [host, port] = (await connection.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinel.name)) as string[];
        const replicas = (await connection.call("SENTINEL", "REPLICAS", sentinel.name)) as string[][];
        const up = replicas
          .map((fields) => Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]]))))
          .filter((replica) => !/s_down|o_down|disconnected/.test(replica.flags ?? ""));
        return [nodeUrl(url, host!, port!), ...up.map((replica) => nodeUrl(url, replica.ip!, replica.port!))];
      });
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`cannot ask any of REDIS_SENTINELS for ${sentinel.name}'s nodes: ${errorMessage(lastError)}`);
}

// Derived from REDIS_URL's credentials, so every gateway in front of the same
// Redis with the same REDIS_URL arrives at the same password: each may make
// the user again without locking out the others' connections, and nothing is
// stored. With no password in REDIS_URL, whoever reaches Redis may already
// administer it, so a password anyone could derive gives nothing away.
function derivedPassword(url: URL, user: string): string {
  return createHmac("sha256", decodeURIComponent(url.password))
    .update(`${user}:${decodeURIComponent(url.username)}`)
    .digest("base64url");
}

// `reset` first: running it again leaves the same user, whatever was changed since.
async function setUser(connection: Redis, profile: Profile, password: string): Promise<void> {
  await connection.call("ACL", "SETUSER", profile.name, "reset", "on", `>${password}`, ...profile.rules);
}

// Asks Redis, running none of them, whether this connection's user may run any
// command Redis files under @admin or @dangerous (redis.acl_check_cmd,
// Redis 7). Subcommands come as "config|set".
const FIRST_ALLOWED = `
for _, name in ipairs(ARGV) do
  local command, sub = string.match(name, '^([^|]+)|?(.*)$')
  if (sub == '' and redis.acl_check_cmd(command)) or (sub ~= '' and redis.acl_check_cmd(command, sub)) then
    return name
  end
end
return false`;

/** The first server-administration command the connection's user may run, those `served` aside, or null. */
async function adminCommandAllowed(connection: Redis, served: ReadonlySet<string>): Promise<string | null> {
  try {
    const names = new Set<string>();
    for (const category of ["admin", "dangerous"]) {
      const listed = (await connection.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", category)) as string[];
      for (const name of listed) if (!served.has(name)) names.add(name);
    }
    return (await connection.call("EVAL", FIRST_ALLOWED, "0", ...names)) as string | null;
  } catch (err) {
    throw new Error(
      `cannot tell whether REDIS_URL's user may administer Redis (${errorMessage(err)}); ` +
        `the check needs Redis 7 or later and a user that may run COMMAND and EVAL: ${HOW_TO}`,
    );
  }
}

/** A connection for one task: no retries, nothing sent twice, its real error when it cannot connect. */
async function withConnection<T>(url: string, use: (connection: Redis) => Promise<T>): Promise<T> {
  let lastError: Error | undefined;
  const connection = new Redis(url, {
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectionName: "edgeq-gateway-setup",
  });
  connection.on("error", (err: Error) => {
    lastError = err;
  });
  try {
    await connection.connect().catch((err: unknown) => {
      // connect() only says "Connection is closed."; the error event says why.
      throw new Error(`cannot connect to Redis: ${errorMessage(lastError ?? err)}`);
    });
    return await use(connection);
  } finally {
    connection.disconnect();
  }
}
