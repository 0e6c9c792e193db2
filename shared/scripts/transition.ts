// What every typed script is made of: a Transition pairs a generated script
// with how to lay out its ARGV from named parameters and how to decode its
// reply, and runs it alone or as a Call in a pipeline.
import type { Keys } from "../keys.ts";
import { Script, type Call, type ScriptRunner, type ScriptSource } from "../script.ts";

export class Transition<P, R> {
  readonly script: Script;

  constructor(
    source: ScriptSource,
    readonly argv: (params: P) => (string | number)[],
    readonly decode: (reply: unknown) => R,
    /** For a `--- @key-locking` script: every key it touches, as its KEYS. */
    readonly touches?: (keys: Keys, params: P) => string[],
  ) {
    this.script = new Script(source);
    if ((source.keyLockingSha !== undefined) !== (touches !== undefined)) {
      throw new Error(`${source.name}: a script names the keys it touches (touches) exactly when it says @key-locking`);
    }
  }

  call(keys: Keys, params: P): Call<R> {
    const { keys: k, argv } = this.script.call(keys, this.argv(params), this.touches?.(keys, params));
    return { script: this.script, keys: k, argv, decode: this.decode };
  }

  async run(redis: ScriptRunner, keys: Keys, params: P): Promise<R> {
    return this.decode(await this.script.run(redis, keys, this.argv(params), this.touches?.(keys, params)));
  }
}

/** Lua's cjson writes an empty array as `{}`. */
export function asArray<T>(value: T[] | object | undefined | null): T[] {
  return Array.isArray(value) ? value : [];
}
