// What Redis itself counts: commands per name (commands run inside a Lua
// script are counted too, under their own names), and read events. A client
// sends a request and waits for the reply before it sends the next, so every
// round trip costs the server one read event: `total_reads_processed` counts
// round trips, a pipeline of several commands being one.
import type { Redis } from "ioredis";

/**
 * Commands only a client can send (never `redis.call` inside a script):
 * counting these gives the client's own commands, the rest ran inside scripts.
 */
const CLIENT_ONLY = new Set([
  "eval",
  "evalsha",
  "eval_ro",
  "evalsha_ro",
  "fcall",
  "fcall_ro",
  "blmpop",
  "blpop",
  "brpop",
  "blmove",
  "brpoplpush",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "hello",
  "auth",
  "select",
  "quit",
  "ping",
  "info",
  "subscribe",
  "psubscribe",
  "unsubscribe",
  "punsubscribe",
]);

export function isClientOnly(command: string): boolean {
  // subcommands are spelled "client|setname", "script|load", "config|get" …
  return CLIENT_ONLY.has(command) || /^(client|script|config|function|command)\|/.test(command);
}

export interface Snapshot {
  reads: number;
  calls: Map<string, number>;
}

export async function snapshot(admin: Redis): Promise<Snapshot> {
  const text = await admin.info("stats", "commandstats");
  const calls = new Map<string, number>();
  let reads = 0;
  for (const line of text.split("\r\n")) {
    const stat = /^cmdstat_(.+?):calls=(\d+)/.exec(line);
    if (stat) calls.set(stat[1]!, Number(stat[2]));
    const read = /^total_reads_processed:(\d+)/.exec(line);
    if (read) reads = Number(read[1]);
  }
  return { reads, calls };
}

export interface Traffic {
  /** Round trips (server read events). */
  roundTrips: number;
  /** Commands clients sent: EVALSHA, blocking pops, MULTI … */
  clientCommands: number;
  /** Every command, those run inside scripts included. */
  allCommands: number;
  /** Calls per command name, scripts' inner commands included. */
  perCommand: Record<string, number>;
}

/** The bench's own requests between two snapshots, to take out of the count. */
export interface Own {
  reads: number;
  calls: Record<string, number>;
}

/**
 * Traffic between two snapshots, less the bench's own: the later snapshot's
 * read (the earlier one counted its own), the earlier snapshot's INFO (a
 * command is counted once it has run), and whatever `own` lists.
 */
export function traffic(before: Snapshot, after: Snapshot, own: Own = { reads: 0, calls: {} }): Traffic {
  const mine: Record<string, number> = { ...own.calls, info: (own.calls.info ?? 0) + 1 };
  const perCommand: Record<string, number> = {};
  let clientCommands = 0;
  let allCommands = 0;
  for (const [command, calls] of after.calls) {
    const delta = calls - (before.calls.get(command) ?? 0) - (mine[command] ?? 0);
    if (delta <= 0) continue;
    perCommand[command] = delta;
    allCommands += delta;
    if (isClientOnly(command)) clientCommands += delta;
  }
  return { roundTrips: after.reads - before.reads - 1 - own.reads, clientCommands, allCommands, perCommand };
}

/** Per-unit figures (per job, per minute) from a traffic count. */
export function scaleTraffic(t: Traffic, per: number): Traffic {
  const perCommand = Object.fromEntries(Object.entries(t.perCommand).map(([k, v]) => [k, v / per]));
  return {
    roundTrips: t.roundTrips / per,
    clientCommands: t.clientCommands / per,
    allCommands: t.allCommands / per,
    perCommand,
  };
}

/** "evalsha 2, blmpop 0.2 | in scripts: hset 1, …", largest first. */
export function describeCommands(perCommand: Record<string, number>, digits = 2): string {
  const fmt = (entries: [string, number][]) =>
    entries
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${Number(v.toFixed(digits))}`)
      .join(", ");
  const entries = Object.entries(perCommand);
  const client = entries.filter(([k]) => isClientOnly(k));
  const inner = entries.filter(([k]) => !isClientOnly(k));
  return `${fmt(client) || "none"}${inner.length ? ` | in scripts: ${fmt(inner)}` : ""}`;
}

export async function blockedClients(admin: Redis): Promise<number> {
  const text = await admin.info("clients");
  return Number(/blocked_clients:(\d+)/.exec(text)?.[1] ?? 0);
}
