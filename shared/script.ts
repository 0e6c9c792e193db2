// A Lua script run by its SHA (EVALSHA), falling back to EVAL when the server
// has not seen it yet (NOSCRIPT: first use, a restart, SCRIPT FLUSH). The
// scripts themselves are shared/scripts/*.lua, assembled into generated.ts.
import type { Keys } from "./keys.ts";

/** What edgeq needs of a Redis client: scripts, with keys and args as arrays. */
export interface ScriptRunner {
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  eval(source: string, keys: string[], args: string[]): Promise<unknown>;
}

/** Line `line` of the assembled source is line `fileLine` of `file`, and so on until the next mark. */
export type LineMark = [line: number, file: string, fileLine: number];

/** One assembled script, as worker-node/cli/lua.ts writes it into generated.ts. */
export interface ScriptSource {
  name: string;
  sha: string;
  source: string;
  lines: LineMark[];
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
   * Every script gets KEYS[1] = the queues set, which routes it to the
   * deployment's hash slot, and ARGV[1] = the key root; the keys it touches
   * all derive from that root (see keys.ts), so they share the slot.
   */
  run(redis: ScriptRunner, keys: Keys, args: (string | number)[]): Promise<unknown> {
    const { keys: k, argv } = this.call(keys, args);
    return this.exec(redis, k, argv);
  }

  /** EVALSHA, then EVAL if Redis has not cached the script; errors name the .lua file's line. */
  async exec(redis: ScriptRunner, keys: string[], argv: string[]): Promise<unknown> {
    try {
      try {
        return decodeReply(await redis.evalsha(this.sha, keys, argv));
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return decodeReply(await redis.eval(this.compiled.source, keys, argv));
      }
    } catch (error) {
      throw this.explain(error);
    }
  }

  call(keys: Keys, args: (string | number)[]): { keys: string[]; argv: string[] } {
    return { keys: [keys.queues()], argv: [keys.root, ...args.map(String)] };
  }

  /**
   * Redis names the line of the assembled script (`user_script:42`); this
   * names the line of the .lua file it came from instead.
   */
  explain(error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    const where = (line: string) => {
      const [file, fileLine] = locate(this.compiled.lines, Number(line));
      return `${file}:${fileLine}`;
    };
    const message = error.message.replace(/@?user_script:(\d+)/g, (_, line: string) => where(line));
    if (message !== error.message) error.message = `${message} (script ${this.name})`;
    return error;
  }
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
