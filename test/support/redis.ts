// A real redis-server for tests: started on a free port in a temporary
// directory, so a test may stop and restart it without touching anyone else's;
// and the calls per command it has counted, for tests that measure traffic.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import type { Redis } from "ioredis";
import { freePort, redisServerArgs } from "../../worker-node/local-redis.ts";

export { freePort };

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Stops the server (SIGTERM, so AOF is flushed) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory, replaying its AOF. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Starts redis-server with these arguments; resolves once it accepts connections (a Sentinel: once it monitors). */
export async function spawnRedisServer(args: string[], ready = "Ready to accept connections"): Promise<ChildProcess> {
  const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) {
        proc.stdout!.off("data", onData);
        proc.stdout!.resume();
        resolve();
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.resume();
    proc.once("error", reject);
    proc.once("exit", (code) => reject(new Error(`redis-server ${args[0]} exited with ${code}: ${output}`)));
  });
  return proc;
}

/** Stops a redis-server with SIGTERM (so its AOF is flushed) and waits for it to exit. */
export async function stopRedisServer(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, "exit");
  proc.kill("SIGTERM");
  await exited;
}

export async function startRedisServer(options: { appendonly?: boolean } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "edgeq-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    child = await spawnRedisServer(redisServerArgs(port, dir, options.appendonly ?? false));
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    await stopRedisServer(proc);
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop,
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Calls per command on the server, leaving out INFO and CLIENT, which the
 * tests send themselves to look. Commands that scripts run count too.
 */
export async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const info = await client.info("commandstats");
  const calls: Record<string, number> = {};
  for (const [, command, n] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (command !== "info" && !command!.startsWith("client")) calls[command!] = Number(n);
  }
  return calls;
}
