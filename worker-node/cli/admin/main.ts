// The admin CLI, `edgeq admin` (in the repository, `tsx worker-node/cli/edgeq.ts admin`):
// what an on-call engineer reaches for, from a shell with TCP access to Redis.
// Output is for people; --json prints what a script would parse instead.
// Exit codes: 0 done, 1 failed (the message names the problem), 2 usage.
//
// main() answers with the exit code and leaves exiting to the edgeq bin, so
// that a test can run a command line in its own process and read what it said.
import { EdgeqError, Keys } from "../../../shared/index.ts";
import { ConfigError, readRedisEnv, redisTarget } from "../../config.ts";
import { connect } from "../../connection.ts";
import { parse, UsageError, type CommandLine } from "./command-line.ts";
import { help, resolve } from "./commands.ts";
import type { Command } from "./command.ts";

/** Where main() writes, one call a message, and the environment it reads REDIS_URL and EDGEQ_PREFIX from. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

const PROCESS_IO: Io = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  env: process.env,
};

/** The URL without its password, for messages. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "redacted";
    return parsed.toString();
  } catch {
    return "REDIS_URL";
  }
}

/** Runs the command line (the words after `edgeq admin`) and answers with its exit code. */
export async function main(argv: string[], io: Io = PROCESS_IO): Promise<number> {
  /** Usage to stderr: what was wrong, then the help of the command it was for (or all of it). */
  const usage = (error: UsageError): 2 => {
    io.err(`edgeq admin: ${error.message}\n\n${help(error.command)}`);
    return 2;
  };
  let line: CommandLine;
  let env: ReturnType<typeof readRedisEnv>;
  let command: Command;
  try {
    line = parse(argv);
    if (line.help) {
      io.out(help(line.name));
      return 0;
    }
    // the environment before the command, as every edgeq process reads it at start: a bad variable is a
    // failure (1); --prefix, already checked, stands in for EDGEQ_PREFIX
    env = readRedisEnv({ ...io.env, ...(line.flags.prefix !== undefined && { EDGEQ_PREFIX: line.flags.prefix }) });
    command = resolve(line);
  } catch (error) {
    if (error instanceof UsageError) return usage(error);
    if (!(error instanceof ConfigError)) throw error;
    io.err(`edgeq admin: ${error.message}`);
    return 1;
  }
  const prefix = env.EDGEQ_PREFIX;
  // connected by the first command, once the command line has been found sound; no reconnecting:
  // a Redis that cannot be reached is the answer, said at once
  const redis = connect(redisTarget(env), {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  });
  // failures reach the command that waits on them; ioredis would also print each one unasked
  let lastError: Error | undefined;
  redis.on("error", (error: Error) => {
    lastError = error;
  });
  const where =
    env.REDIS_CLUSTER_NODES?.join(",") ??
    (env.REDIS_SENTINELS ? `${env.REDIS_SENTINEL_NAME} of ${env.REDIS_SENTINELS.join(",")}` : shown(env.REDIS_URL));
  try {
    const ctx = { redis, prefix, keys: Keys.forPrefix(prefix), now: Date.now(), out: io.out };
    const output = await command.run(ctx, line.args, line.flags);
    if (!output.printed) io.out(line.flags.json ? JSON.stringify(output.json, null, 2) : output.text);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return usage(new UsageError(error.message, line.name));
    // the producer API's errors say what is wrong in words; anything else is Redis's own, where
    // "Connection is closed" says less than the error that closed it
    const message =
      error instanceof EdgeqError ? error.message : `Redis at ${where}: ${(lastError ?? (error as Error)).message}`;
    io.err(`edgeq admin: ${message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
