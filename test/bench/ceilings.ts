// What this machine allows at best, to read the other figures against: a
// Redis round trip from Node, and starting and finishing a bare Node child
// process (the floor under any fork-per-job design).
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { DEFAULTS } from "../../shared/defaults.ts";
import { horseEnv } from "../../worker-node/horse/horse.ts";
import type { Context } from "./context.ts";
import { loadContender, type Contender } from "./measure.ts";

const FIXTURES = {
  exit: fileURLToPath(new URL("./fixtures/exit.mjs", import.meta.url)),
  ipc: fileURLToPath(new URL("./fixtures/ipc-exit.mjs", import.meta.url)),
};

export const IN_FLIGHT = 16;

export function pingContenders(ctx: Context): Contender[] {
  // its own connection, as a producer would have, not the bench's admin one
  let client: Redis | undefined;
  const ping = () => client!.ping();
  const common = { scenario: "1. Ceilings" as const, op: ping, durationMs: ctx.profile.loadMs, rateLabel: "ops/s" };
  const seq = loadContender({
    ...common,
    id: "ceiling.ping.seq",
    case: "Redis PING (ioredis), sequential",
    concurrency: 1,
    start: async () => {
      client = new Redis(ctx.redis.url);
      await client.ping();
    },
  });
  const parallel = loadContender({
    ...common,
    id: "ceiling.ping.parallel",
    case: `Redis PING (ioredis), ${IN_FLIGHT} in flight`,
    concurrency: IN_FLIGHT,
  });
  return [seq, { ...parallel, stop: async () => void client?.disconnect() }];
}

/**
 * Starts and reaps one bare child, the way a horse is forked: no TypeScript
 * loader, an IPC channel, a horse's environment. The bench's own would make it
 * no ceiling: a variable such as NODE_EXTRA_CA_CERTS, which a horse does not
 * get, costs every Node process that has it ~40 ms to load the certificates.
 */
const HORSE_ENV = horseEnv(DEFAULTS.horseEnv);

async function forkOnce(file: string): Promise<void> {
  const child = fork(file, [], { execArgv: [], env: HORSE_ENV, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  child.on("message", () => {});
  await once(child, "exit");
}

export function forkCeiling(ctx: Context, variant: keyof typeof FIXTURES, concurrency: number): Contender {
  const what = variant === "ipc" ? "sends one IPC message and exits" : "exits";
  return loadContender({
    id: `ceiling.fork.${variant}.c${concurrency}`,
    scenario: "1. Ceilings",
    case: `bare child process (fork of a .mjs that ${what}), c=${concurrency}`,
    op: () => forkOnce(FIXTURES[variant]),
    durationMs: ctx.profile.forkMs,
    concurrency,
    rateLabel: "processes/s",
  });
}
