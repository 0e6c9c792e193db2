// Reading `edgeq admin`'s command line: the flags every command may take, the
// words, and each flag's value as the type a command wants. Anything that
// cannot be read is a UsageError, which the CLI answers with exit code 2 and
// the help of the command it was for.
import { parseArgs } from "node:util";
import type { JsonValue } from "../../../shared/index.ts";
import { prefixSchema } from "../../../shared/names.ts";

/** Every flag any command takes; each command names the ones it accepts. */
const OPTIONS = {
  json: { type: "boolean" },
  prefix: { type: "string" },
  help: { type: "boolean", short: "h" },
  status: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  "all-failed": { type: "boolean" },
  "older-than": { type: "string" },
  max: { type: "string" },
  per: { type: "string" },
  off: { type: "boolean" },
  queue: { type: "string" },
  task: { type: "string" },
  args: { type: "string" },
  cron: { type: "string" },
  tz: { type: "string" },
  every: { type: "string" },
  delete: { type: "boolean" },
  concurrency: { type: "string" },
  key: { type: "string" },
  data: { type: "string" },
  pause: { type: "boolean" },
  resume: { type: "boolean" },
  follow: { type: "boolean", short: "f" },
  offset: { type: "string" },
  finished: { type: "string" },
  failed: { type: "string" },
} as const;
export type Flag = keyof typeof OPTIONS;
export type Flags = { [F in Flag]?: (typeof OPTIONS)[F]["type"] extends "boolean" ? boolean : string };
export const GLOBAL_FLAGS: Flag[] = ["json", "prefix", "help"];

/** A command line that asks for nothing it could do; `command` when it named one, for that command's help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface CommandLine {
  /** The command's name; "help jobs" names jobs. */
  name: string | undefined;
  args: string[];
  flags: Flags;
  help: boolean;
}

/** The words and flags, or a UsageError when a flag is unknown, misses its value or --prefix is no prefix. */
export function parse(argv: string[]): CommandLine {
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util names the flag it did not know, or the value it missed
    throw new UsageError((error as Error).message);
  }
  const { values: flags, positionals } = parsed;
  const [word, ...args] = positionals;
  const name = word === "help" ? args.shift() : word;
  if (flags.prefix !== undefined && !prefixSchema.safeParse(flags.prefix).success) {
    throw new UsageError("--prefix must be 1-64 letters, digits, '_', '.', ':' or '-'", name);
  }
  return { name, args, flags, help: flags.help === true || word === "help" };
}

export function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`${name} is missing`);
  return value;
}

export function oneOf<const T extends readonly string[]>(
  value: string | undefined,
  name: string,
  allowed: T,
): T[number] {
  if (value === undefined || !allowed.includes(value)) {
    throw new UsageError(
      `${name} must be one of ${allowed.join(", ")}${value === undefined ? "" : `, not "${value}"`}`,
    );
  }
  return value;
}

export function wholeNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, not "${text}"`);
  return Number(text);
}

export function jsonFlag(text: string, name: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new UsageError(`${name} must be JSON, like '{"to":"ada@example.com"}', not ${text}`);
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "15m", "12h", "7d" in milliseconds. */
export function duration(text: string, name: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match)
    throw new UsageError(`${name} must be a number and a unit (ms, s, m, h, d), like 30s or 7d, not "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}
