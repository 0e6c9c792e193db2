// A Lua script run by its SHA (EVALSHA), falling back to EVAL when the server
// has not seen it yet (NOSCRIPT: first use, a restart, SCRIPT FLUSH), alone or
// in a pipeline with other commands. The scripts themselves are
// shared/scripts/*.lua, assembled into generated.ts.
import { isOutOfMemory, RedisFullError } from "./errors.ts";
import type { Keys } from "./keys.ts";

/** What edgeq needs of a Redis client: scripts, with keys and args as arrays. */
export interface ScriptRunner {
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  eval(source: string, keys: string[], args: string[]): Promise<unknown>;
  /** Send scripts that allow it with Upstash's `allow-key-locking` flag (REST clients: Upstash, or the gateway). */
  keyLocking?: boolean;
  /** WAIT on the runner's connection, over TCP to one server (shared/replicas.ts). */
  replication?: Replication;
}

/** What a TCP runner offers for WAIT: over REST, the gateway waits for the writes it forwards. */
export interface Replication {
  /**
   * Changes when the connection is replaced (a reconnect, a failover): WAIT on a new connection says nothing of
   * the writes sent over the old one.
   */
  epoch(): unknown;
  /** WAIT: how many replicas have every write sent on this connection so far. */
  wait(replicas: number, timeoutMs: number): Promise<number>;
}

/** What a pipeline answers for each command it sent: its error, or its reply. */
export type PipelineResult = [error: Error | null, reply: unknown];

/** What edgeq needs of a pipeline (ioredis's, over TCP: no key locking): commands queued, sent in one round trip. */
export interface ScriptPipeline {
  evalsha(sha: string, numkeys: number, ...keysAndArgs: string[]): unknown;
  eval(source: string, numkeys: number, ...keysAndArgs: string[]): unknown;
  exec(): Promise<PipelineResult[] | null>;
}

/** One script call, ready to run alone or in a pipeline with others. */
export interface Call<R> {
  script: Script;
  keys: string[];
  argv: string[];
  decode(reply: unknown): R;
}

/**
 * Upstash runs a script under a database-wide lock unless its shebang says
 * `allow-key-locking`: then only its KEYS are locked, and every key it
 * touches must be among them. Open-source Redis refuses the flag; the
 * gateway drops it (worker-node/gateway/key-locking.ts).
 */
export const KEY_LOCKING_SHEBANG = "#!lua flags=allow-key-locking\n";

/** Line `line` of the assembled source is line `fileLine` of `file`, and so on until the next mark. */
export type LineMark = [line: number, file: string, fileLine: number];

/** One assembled script, as tools/lua.ts writes it into generated.ts. */
export interface ScriptSource {
  name: string;
  sha: string;
  source: string;
  lines: LineMark[];
  /** Set for a script that passes every key it touches in KEYS (`--- @key-locking`): the SHA of its flagged variant. */
  keyLockingSha?: string;
}

export class Script {
  constructor(readonly compiled: ScriptSource) {}

  get name(): string {
    return this.compiled.name;
  }

  get sha(): string {
    return this.compiled.sha;
  }

  /**
   * Every script gets ARGV[1] = the key root, and the keys it touches all
   * derive from that root (see keys.ts), so they share the hash slot. KEYS
   * route it there: the queues set, or, for a script that can name them up
   * front (`--- @key-locking`), every key it touches.
   */
  run(redis: ScriptRunner, keys: Keys, args: (string | number)[], touched?: string[]): Promise<unknown> {
    const { keys: k, argv } = this.call(keys, args, touched);
    return this.exec(redis, k, argv);
  }

  /**
   * EVALSHA, then EVAL if Redis has not cached the script (at once when it is known not to be: `cached` false);
   * errors name the .lua file's line.
   */
  async exec(redis: ScriptRunner, keys: string[], argv: string[], cached = true): Promise<unknown> {
    const locked = redis.keyLocking === true && this.compiled.keyLockingSha !== undefined;
    try {
      if (cached) {
        try {
          return decodeReply(await redis.evalsha(locked ? this.compiled.keyLockingSha! : this.sha, keys, argv));
        } catch (error) {
          if (!isNoScript(error)) throw error;
        }
      }
      const source = locked ? KEY_LOCKING_SHEBANG + this.compiled.source : this.compiled.source;
      return decodeReply(await redis.eval(source, keys, argv));
    } catch (error) {
      // the shebang is line 1 of the flagged variant
      throw this.explain(error, locked ? 1 : 0);
    }
  }

  /** KEYS: `touched`, for a script that declares every key it touches; else the queues set, to route it. */
  call(keys: Keys, args: (string | number)[], touched?: string[]): { keys: string[]; argv: string[] } {
    return { keys: touched ?? [keys.queues()], argv: [keys.root, ...args.map(String)] };
  }

  /**
   * Redis names the line of the assembled script (`user_script:42`); this
   * names the line of the .lua file it came from instead. A refusal for
   * memory becomes a RedisFullError, for the edge's 503 and a worker's backoff.
   */
  explain(error: unknown, shift = 0): unknown {
    if (isOutOfMemory(error)) return new RedisFullError();
    if (!(error instanceof Error)) return error;
    const where = (line: string) => {
      const [file, fileLine] = locate(this.compiled.lines, Number(line) - shift);
      return `${file}:${fileLine}`;
    };
    const message = error.message.replace(/@?user_script:(\d+)/g, (_, line: string) => where(line));
    if (message !== error.message) error.message = `${message} (script ${this.name})`;
    return error;
  }
}

/**
 * Sends `calls` by SHA on `pipeline`, behind the commands the caller queued
 * on it, in one round trip. Answers the results of those commands first, as
 * Redis gave them, then each call's decoded reply. A script Redis had not
 * cached (NOSCRIPT) is sent again with its source through `redis`, a runner
 * over a TCP connection. A call that fails otherwise answers its error
 * (naming the .lua line) in its reply's place, and the calls after it are
 * not read: the caller decides whether a failed call fails the rest (a
 * report) or not (the claim behind a wait, whose pop still counts).
 *
 * A script the connection has not run yet (not in `known`) goes with its
 * source (EVAL), which caches it: a NOSCRIPT sent again after the calls behind
 * it had run would run out of order (a task's last progress and log lines
 * written after its job ended, and refused). `known` learns each script that
 * ran; its owner empties it when the connection is replaced.
 */
export async function execPipeline(
  pipeline: ScriptPipeline,
  redis: ScriptRunner,
  calls: readonly Call<unknown>[],
  known: Set<string> = new Set(),
): Promise<unknown[]> {
  for (const { script, keys, argv } of calls) {
    if (known.has(script.sha)) pipeline.evalsha(script.sha, keys.length, ...keys, ...argv);
    else pipeline.eval(script.compiled.source, keys.length, ...keys, ...argv);
  }
  const results = (await pipeline.exec()) ?? [];
  const ahead = Math.max(0, results.length - calls.length);
  const replies: unknown[] = results.slice(0, ahead);
  for (let i = ahead; i < results.length; i++) {
    const { script, keys, argv, decode } = calls[i - ahead]!;
    const [error, reply] = results[i]!;
    try {
      if (error && !isNoScript(error)) throw script.explain(error);
      if (!error) known.add(script.sha);
      else known.delete(script.sha);
      replies.push(decode(error ? await script.exec(redis, keys, argv, false) : decodeReply(reply)));
    } catch (failed) {
      replies.push(failed);
      break;
    }
  }
  return replies;
}

/** The file and line that line `line` of an assembled script came from. */
export function locate(marks: LineMark[], line: number): [file: string, line: number] {
  let mark = marks[0]!;
  for (const m of marks) if (m[0] <= line) mark = m;
  return [mark[1], mark[2] + line - mark[0]];
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOSCRIPT");
}

/**
 * Scripts answer with one JSON document. ioredis hands it over as a string;
 * @upstash/redis has already parsed it (its automatic deserialization).
 */
export function decodeReply(reply: unknown): unknown {
  return typeof reply === "string" ? JSON.parse(reply) : reply;
}
