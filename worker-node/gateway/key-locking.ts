// Upstash runs a script whose shebang says `allow-key-locking` under locks
// on its KEYS alone instead of a database-wide lock, and edgeq's clients send
// the scripts that allow it that way over REST (shared/script.ts). Redis
// refuses the flag ("Unexpected flag in script shebang"). The gateway speaks
// Upstash's protocol in front of Redis, where scripts run one at a time
// anyway: it drops the flag, keeping the shebang line so that error line
// numbers stay the same, and runs an EVALSHA of the flagged script's SHA as
// the script Redis knows.
import { createHash } from "node:crypto";

const SHEBANG = /^#!lua(?<rest>[^\n]*)\n/;
const FLAG = "allow-key-locking";
/** Flagged scripts remembered; past it the memory starts over (clients then send the source again, after NOSCRIPT). */
const REMEMBERED = 1_024;

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** The script without Upstash's key-locking flag, or the script itself when it has none. */
export function withoutKeyLocking(source: string): string {
  const rest = SHEBANG.exec(source)?.groups?.rest;
  if (rest === undefined) return source;
  const flags = /(?:^|\s)flags=(\S*)/.exec(rest);
  const kept = flags?.[1]?.split(",").filter((flag) => flag !== FLAG);
  if (!kept || kept.length === flags![1]!.split(",").length) return source;
  const shebang = `#!lua${rest.replace(flags![0], kept.length ? ` flags=${kept.join(",")}` : "")}\n`;
  return shebang + source.slice(source.indexOf("\n") + 1);
}

export class KeyLockingScripts {
  /** SHA of a flagged script, as clients know it → SHA of the script Redis ran. */
  readonly #shas = new Map<string, string>();

  /** Rewrites a command's arguments in place for Redis: EVAL and SCRIPT LOAD without the flag, EVALSHA to match. */
  adapt(name: string, args: string[]): void {
    const at = name === "EVAL" || name === "EVAL_RO" ? 0 : name === "SCRIPT" && /^load$/i.test(args[0] ?? "") ? 1 : -1;
    if (at >= 0 && typeof args[at] === "string") {
      const source = args[at] as string;
      const stripped = withoutKeyLocking(source);
      if (stripped === source) return;
      if (this.#shas.size >= REMEMBERED) this.#shas.clear();
      this.#shas.set(sha1(source), sha1(stripped));
      args[at] = stripped;
      return;
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && typeof args[0] === "string") {
      const known = this.#shas.get(args[0].toLowerCase());
      if (known !== undefined) args[0] = known;
    }
  }
}
