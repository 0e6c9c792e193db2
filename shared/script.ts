// A Lua script run by its SHA (EVALSHA), falling back to EVAL when the server
// has not seen it yet (NOSCRIPT: first use, a restart, SCRIPT FLUSH).
import { luaKeys, type Keys } from "./keys.ts";
import { luaIncludes } from "./scripts/includes.ts";

/** What edgeq needs of a Redis client: scripts, with keys and args as arrays. */
export interface ScriptRunner {
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  eval(source: string, keys: string[], args: string[]): Promise<unknown>;
}

export class Script {
  readonly source: string;
  #sha: Promise<string> | undefined;

  constructor(readonly name: string, body: string) {
    this.source = luaKeys + luaIncludes + body;
  }

  sha(): Promise<string> {
    this.#sha ??= sha1Hex(this.source);
    return this.#sha;
  }

  /**
   * Every script gets KEYS[1] = the queues set, which routes it to the
   * deployment's hash slot, and ARGV[1] = the key root; the keys it touches
   * all derive from that root (see keys.ts), so they share the slot.
   */
  async run(redis: ScriptRunner, keys: Keys, args: (string | number)[]): Promise<unknown> {
    const { keys: k, argv } = this.call(keys, args);
    try {
      return decodeReply(await redis.evalsha(await this.sha(), k, argv));
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return decodeReply(await redis.eval(this.source, k, argv));
    }
  }

  call(keys: Keys, args: (string | number)[]): { keys: string[]; argv: string[] } {
    return { keys: [keys.queues()], argv: [keys.root, ...args.map(String)] };
  }
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

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
