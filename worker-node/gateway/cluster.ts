// What a Redis Cluster asks of the gateway beyond routing. ioredis's Cluster
// sends a command to the master of its first key's slot and follows MOVED and
// ASK; what a cluster client must do above that is here:
// - A keyless command whose effect or answer belongs to each node (SCRIPT
//   LOAD, SCRIPT EXISTS, DBSIZE, FUNCTION LOAD) goes to every node, and the
//   replies are combined, as Redis's own command tips say (COMMAND's 8th
//   field, Redis 7: `request_policy:all_shards`, `response_policy:agg_sum`).
//   They are read from the server at start: a list here would fall behind it.
// - Commands go as one pipeline or transaction only when their keys share
//   one slot; a pipeline that cannot runs command by command, and a
//   transaction that cannot is refused as Redis Cluster refuses it.
import { once } from "node:events";
import { type Cluster, Command, Redis } from "ioredis";
import type { Connection } from "../connection.ts";

export interface Call {
  name: string;
  args: string[];
}

/** The error Redis Cluster answers a command or transaction whose keys span slots with. */
const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

// How the replies of every node become one, by response_policy. Policies
// without a function here (special ones, or none) are not spread: such a
// command runs on one node, as for any keyless command.
type Combine = (replies: PromiseSettledResult<unknown>[]) => unknown;

const allSucceeded: Combine = (replies) => values(replies)[0];

// SCRIPT KILL: the one node running a script answers; the others say NOTBUSY.
const oneSucceeded: Combine = (replies) => {
  const answered = replies.find((reply) => reply.status === "fulfilled");
  if (answered === undefined) throw (replies[0] as PromiseRejectedResult).reason;
  return answered.value;
};

// Integers arrive as strings of digits (`stringNumbers`), alone or in an
// array (SCRIPT EXISTS answers one per SHA); the combination keeps that shape.
const integers =
  (fold: (a: bigint, b: bigint) => bigint): Combine =>
  (replies) =>
    values(replies).reduce((sum, reply) =>
      Array.isArray(sum)
        ? sum.map((item, i) => String(fold(BigInt(item), BigInt((reply as unknown[])[i] as string))))
        : String(fold(BigInt(sum as string), BigInt(reply as string))),
    );

const COMBINE: Record<string, Combine> = {
  all_succeeded: allSucceeded,
  one_succeeded: oneSucceeded,
  // SCRIPT EXISTS: a script is there only when every node has it, so an EVALSHA anywhere finds it
  agg_logical_and: integers((a, b) => (a !== 0n && b !== 0n ? 1n : 0n)),
  agg_sum: integers((a, b) => a + b),
};

/** The replies, or the first node's error when any node failed. */
function values(replies: PromiseSettledResult<unknown>[]): unknown[] {
  const failed = replies.find((reply) => reply.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return replies.map((reply) => (reply as PromiseFulfilledResult<unknown>).value);
}

interface Spread {
  /** all_nodes: replicas too (SCRIPT LOAD, so that a promoted replica has the script); all_shards: masters. */
  nodes: "all" | "master";
  combine: Combine;
}

export interface ClusterCommands {
  /** Why the gateway cannot serve a command on a cluster, or undefined. */
  refusal(name: string): string | undefined;
  /** Runs one command: where its first key lives, or on every node when it belongs to each. */
  call(cluster: Cluster, name: string, args: string[]): Promise<unknown>;
  /** Why the commands cannot run together on one node, or undefined when they can. */
  apart(calls: readonly Call[]): string | undefined;
}

/** What the cluster needs of each command, from the reply of COMMAND. */
export function clusterCommands(commandReply: unknown): ClusterCommands {
  const spread = new Map<string, Spread>();
  const special = new Set<string>();
  const visit = (entries: unknown): void => {
    if (!Array.isArray(entries)) return;
    for (const entry of entries as unknown[][]) {
      const [name, , , , , , , tips] = entry;
      if (typeof name !== "string" || !Array.isArray(tips)) continue;
      const tip = (kind: string) => (tips as string[]).find((t) => t.startsWith(`${kind}:`))?.slice(kind.length + 1);
      const request = tip("request_policy");
      const combine = COMBINE[tip("response_policy") ?? ""];
      if (request === "special") special.add(name.toUpperCase());
      if ((request === "all_nodes" || request === "all_shards") && combine !== undefined) {
        spread.set(name.toUpperCase(), { nodes: request === "all_nodes" ? "all" : "master", combine });
      }
      visit(entry[9]);
    }
  };
  visit(commandReply);

  // Subcommands are listed as "script|load".
  const spreadOf = (name: string, args: string[]): Spread | undefined =>
    spread.get(name) ?? spread.get(`${name}|${args[0]?.toUpperCase()}`);

  // SCAN's cursor walks one node: sent to whichever node, it would silently miss the others' keys.
  const refusal = (name: string): string | undefined =>
    special.has(name)
      ? `ERR ${name} walks one node of a Redis Cluster at a time, which the REST gateway does not do; use TCP`
      : undefined;

  const call = async (cluster: Cluster, name: string, args: string[]): Promise<unknown> => {
    const where = spreadOf(name, args);
    const nodes = where === undefined ? [] : cluster.nodes(where.nodes);
    // With no node known yet (the cluster is still connecting), the Cluster holds the command until one is.
    if (where === undefined || nodes.length === 0) return cluster.callBuffer(name, args);
    return where.combine(await Promise.allSettled(nodes.map((node) => node.callBuffer(name, args))));
  };

  const apart = (calls: readonly Call[]): string | undefined => {
    let slot: number | undefined;
    for (const { name, args } of calls) {
      if (spreadOf(name, args) !== undefined) {
        const command = spread.has(name) ? name : `${name} ${args[0]?.toUpperCase()}`;
        return `ERR ${command} runs on every node of a Redis Cluster, not within a transaction; send it alone`;
      }
      for (const key of new Command(name, args).getKeys()) {
        // ioredis routes by the first key's slot, Command#getSlot; each key's is reckoned the same way.
        const keySlot = new Command("EXISTS", [key]).getSlot();
        if (slot === undefined) slot = keySlot;
        else if (keySlot !== slot) return CROSSSLOT;
      }
    }
    return undefined;
  };

  return { refusal, call, apart };
}

/** `url` at another node: the same user, password and TLS. */
export function nodeUrl(url: string, host: string, port: string | number): string {
  const at = new URL(url);
  at.hostname = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  at.port = String(port);
  return at.toString();
}

/**
 * Resolves once a connection takes commands. A Redis made with lazyConnect
 * connects when asked; a Cluster (connection.ts) starts as it is made and
 * says how it went with `ready` or `error`.
 */
export async function opened(connection: Connection): Promise<void> {
  if (connection instanceof Redis) return connection.connect();
  await once(connection, "ready");
}
