// The Upstash REST protocol, apart from HTTP: which commands the gateway
// refuses and why, how a JSON body becomes Redis commands, and how Redis
// replies become the JSON the @upstash/redis client expects.

export type SubscribeCommand = "SUBSCRIBE" | "PSUBSCRIBE";

/** Where Upstash serves a subscription as server-sent events. */
export function streamPath(command: SubscribeCommand): string {
  return command === "SUBSCRIBE" ? "/subscribe/<channel>" : "/psubscribe/<pattern>";
}

// Commands that would hang an HTTP request or change the state of a pooled
// connection that other requests share. Refused before they reach Redis.
const REFUSED = new Map<string, string>();
for (const name of [
  "BLPOP",
  "BRPOP",
  "BLMOVE",
  "BLMPOP",
  "BRPOPLPUSH",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "WAIT",
  "WAITAOF",
]) {
  REFUSED.set(name, `ERR ${name} is a blocking command, which the REST gateway does not support; use a TCP connection`);
}
for (const name of ["SUBSCRIBE", "PSUBSCRIBE"] as const) {
  REFUSED.set(name, `ERR ${name} is served as server-sent events: POST ${streamPath(name)}, as @upstash/redis does`);
}
for (const name of ["SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "SYNC", "PSYNC"]) {
  REFUSED.set(
    name,
    `ERR ${name} holds its connection open, which the REST gateway does not support; use a TCP connection`,
  );
}
for (const name of ["QUIT", "SELECT", "HELLO", "AUTH", "RESET", "CLIENT"]) {
  REFUSED.set(
    name,
    `ERR ${name} changes connection state, which means nothing over the REST gateway's pooled connections`,
  );
}
for (const name of ["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"]) {
  REFUSED.set(name, `ERR ${name} is not supported by the REST gateway; send the transaction to /multi-exec`);
}
// Server administration: Redis's @admin commands and the @dangerous ones that
// reach the whole server. Upstash serves data and scripting, not these. The
// gateway's Redis user (acl.ts) is denied them too, inside scripts as well;
// naming them here answers at once, and says why, before Redis is asked.
for (const name of [
  "ACL",
  "BGREWRITEAOF",
  "BGSAVE",
  "CLUSTER",
  "CONFIG",
  "DEBUG",
  "FAILOVER",
  "FLUSHALL",
  "FLUSHDB",
  "INFO",
  "KEYS",
  "LASTSAVE",
  "LATENCY",
  "MIGRATE",
  "MODULE",
  "PFDEBUG",
  "PFSELFTEST",
  "REPLCONF",
  "REPLICAOF",
  "RESTORE",
  "RESTORE-ASKING",
  "ROLE",
  "SAVE",
  "SHUTDOWN",
  "SLAVEOF",
  "SLOWLOG",
  "SWAPDB",
]) {
  REFUSED.set(name, `NOPERM ${name} is server administration, which the REST gateway does not serve`);
}

/**
 * What Upstash serves of Redis's @dangerous commands (none of @admin): served
 * in GATEWAY_UPSTASH_PARITY mode, for a developer's local stand-in for
 * Upstash, by name and inside scripts (acl.ts gives its user these).
 */
export const UPSTASH_DANGEROUS = ["KEYS", "FLUSHDB", "FLUSHALL", "SORT", "SORT_RO"] as const;
const UPSTASH_SERVES = new Set<string>(UPSTASH_DANGEROUS);

/**
 * Why the gateway refuses a command, or undefined. `readable` is given when
 * the request's token may only read: then only the commands in it may run.
 * `parity`: serve what Upstash serves (UPSTASH_DANGEROUS).
 */
export function refusal(
  name: string,
  args: string[],
  readable?: ReadonlySet<string>,
  parity = false,
): string | undefined {
  const reason = parity && UPSTASH_SERVES.has(name) ? undefined : REFUSED.get(name);
  if (reason !== undefined) return reason;
  if ((name === "XREAD" || name === "XREADGROUP") && hasBlockOption(name, args)) {
    return `ERR ${name} with BLOCK is a blocking command, which the REST gateway does not support; use TCP`;
  }
  if (readable !== undefined && !readable.has(name) && !readable.has(`${name}|${args[0]?.toUpperCase()}`)) {
    return `NOPERM this token may only read, and ${name} is not a read-only command (scripts: EVAL_RO, EVALSHA_RO)`;
  }
  return undefined;
}

// What a read-only token may run is what Redis itself flags `readonly` (the
// flag that lets EVAL_RO and replicas run a command), read from COMMAND at
// start: a fixed list here would fall behind the server. EVAL and EVALSHA are
// not flagged, since a script may write; EVAL_RO and EVALSHA_RO are, and
// Redis refuses writes and PUBLISH inside them. PING and ECHO touch no data.
// Each entry of COMMAND's reply is [name, arity, flags, ..., subcommands (10th)].
export function readOnlyCommands(commandReply: unknown): Set<string> {
  const readable = new Set(["PING", "ECHO"]);
  const visit = (entries: unknown): void => {
    if (!Array.isArray(entries)) return;
    for (const entry of entries as unknown[][]) {
      const [name, , flags] = entry;
      if (typeof name !== "string") continue;
      if (Array.isArray(flags) && flags.includes("readonly")) readable.add(name.toUpperCase());
      visit(entry[9]);
    }
  };
  visit(commandReply);
  return readable;
}

// Options come before STREAMS; after it, "BLOCK" may be a stream's name.
// XREADGROUP's options follow `GROUP <group> <consumer>`.
function hasBlockOption(name: string, args: string[]): boolean {
  for (let i = name === "XREADGROUP" ? 3 : 0; i < args.length; i++) {
    const arg = (args[i] as string).toUpperCase();
    if (arg === "STREAMS") return false;
    if (arg === "BLOCK") return true;
    if (arg === "COUNT") i++;
  }
  return false;
}

/** A refusal with the HTTP status to answer it with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NOT_A_COMMAND = "A command is a non-empty JSON array of strings, numbers and booleans";

// Validates in place: Redis gets the string form of numbers and booleans, as
// the client's own serializer would produce.
export function toCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, NOT_A_COMMAND);
  for (let i = 0; i < value.length; i++) {
    const arg: unknown = value[i];
    const type = typeof arg;
    if (type === "string") continue;
    if (type === "number" || type === "boolean") value[i] = String(arg);
    else throw new HttpError(400, NOT_A_COMMAND);
  }
  return value as string[];
}

// Upper case on purpose: ioredis reshapes the replies of a few commands
// (HGETALL into an object, for one), keyed by their lower-case names.
export function takeName(args: string[]): string {
  return (args.shift() as string).toUpperCase();
}

export function toCommands(value: unknown): string[][] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "A pipeline is a non-empty JSON array of commands");
  }
  return value.map(toCommand);
}

// Replies arrive as RESP2 shapes with `stringNumbers`: every Redis string
// (bulk or status) is a Buffer and every integer is a JS string of its exact
// digits, so a Buffer means "string" and a JS string means "number", even
// beyond 2^53.
function encode(value: unknown, base64: boolean): string {
  if (value instanceof Buffer) {
    // Base64 needs no JSON escaping.
    return base64 ? `"${value.toString("base64")}"` : JSON.stringify(value.toString("utf8"));
  }
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += encode(value[i], base64);
    }
    return `${out}]`;
  }
  // An error nested in an array, e.g. a Lua table holding {err = "..."}.
  if (value instanceof Error) return encode(Buffer.from(value.message), base64);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "null";
}

// The client decodes every top-level string from base64 except "OK", so a
// status OK may go out as is; anywhere else it must be encoded like the rest.
export function encodeResult(value: unknown, base64: boolean): string {
  if (base64 && value instanceof Buffer && value.length === 2 && value[0] === 0x4f && value[1] === 0x4b) {
    return '{"result":"OK"}';
  }
  return `{"result":${encode(value, base64)}}`;
}

// Upstash's pub/sub stream, as @upstash/redis parses it: one `data:` line an
// event, its fields joined by commas (`subscribe,<channel>,<count>`,
// `message,<channel>,<message>`, `pmessage,<pattern>,<channel>,<message>`),
// in UTF-8 whatever Upstash-Encoding asks. A line break inside a message
// starts another data line, as SSE has it: an EventSource joins them again,
// while @upstash/redis takes each line for an event and keeps only the first.
export function sseEvent(fields: string[]): string {
  return `data: ${fields.join(",").replace(/\r\n|\r|\n/g, "\ndata: ")}\n\n`;
}

export function encodeError(message: string): string {
  return `{"error":${JSON.stringify(message)}}`;
}

// A Redis error reply is the caller's problem (400); anything else (a lost
// connection, Redis down) is the gateway's (503).
export function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === "ReplyError";
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
