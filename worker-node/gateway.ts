// The Upstash Redis REST protocol in front of any Redis, so a self-hosted
// Redis serves the edge exactly as Upstash does. The reference is the official
// @upstash/redis client with its defaults: auto-pipelining (nearly every call
// arrives as POST /pipeline), `Upstash-Encoding: base64`, and read-your-writes
// (it echoes the `upstash-sync-token` of the last response).
//
//   GATEWAY_TOKEN=secret REDIS_URL=redis://127.0.0.1:6379 tsx worker-node/gateway.ts
import { createHash, timingSafeEqual } from "node:crypto";
import { realpathSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pino from "pino";

export interface GatewayOptions {
  /** Default redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** The bearer token every request must carry. */
  token: string;
  /** Default 8079; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number;
  /** Redis connections shared by all requests; default 4. */
  poolSize?: number;
  logger?: pino.Logger;
}

export interface Gateway {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then quits Redis. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
// Past this, close() cuts connections that are still busy rather than hang.
const SHUTDOWN_GRACE_MS = 10_000;

// Commands that would hang an HTTP request or change the state of a pooled
// connection that other requests share. Refused before they reach Redis.
const REFUSED = new Map<string, string>();
for (const name of ["BLPOP", "BRPOP", "BLMOVE", "BLMPOP", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT", "WAITAOF"]) {
  REFUSED.set(name, `ERR ${name} is a blocking command, which the REST gateway does not support; use a TCP connection`);
}
for (const name of ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "SYNC", "PSYNC"]) {
  REFUSED.set(name, `ERR ${name} holds its connection open, which the REST gateway does not support; use a TCP connection`);
}
for (const name of ["QUIT", "SELECT", "HELLO", "AUTH", "RESET", "CLIENT"]) {
  REFUSED.set(name, `ERR ${name} changes connection state, which means nothing over the REST gateway's pooled connections`);
}
for (const name of ["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"]) {
  REFUSED.set(name, `ERR ${name} is not supported by the REST gateway; send the transaction to /multi-exec`);
}

function refusal(name: string, args: string[]): string | undefined {
  const reason = REFUSED.get(name);
  if (reason !== undefined) return reason;
  if ((name === "XREAD" || name === "XREADGROUP") && hasBlockOption(name, args)) {
    return `ERR ${name} with BLOCK is a blocking command, which the REST gateway does not support; use a TCP connection`;
  }
  return undefined;
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

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const NOT_A_COMMAND = "A command is a non-empty JSON array of strings, numbers and booleans";

// Validates in place: Redis gets the string form of numbers and booleans, as
// the client's own serializer would produce.
function toCommand(value: unknown): string[] {
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
function takeName(args: string[]): string {
  return (args.shift() as string).toUpperCase();
}

function toCommands(value: unknown): string[][] {
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
    return out + "]";
  }
  // An error nested in an array, e.g. a Lua table holding {err = "..."}.
  if (value instanceof Error) return encode(Buffer.from(value.message), base64);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "null";
}

// The client decodes every top-level string from base64 except "OK", so a
// status OK may go out as is; anywhere else it must be encoded like the rest.
function encodeResult(value: unknown, base64: boolean): string {
  if (base64 && value instanceof Buffer && value.length === 2 && value[0] === 0x4f && value[1] === 0x4b) {
    return '{"result":"OK"}';
  }
  return `{"result":${encode(value, base64)}}`;
}

function encodeError(message: string): string {
  return `{"error":${JSON.stringify(message)}}`;
}

// A Redis error reply is the caller's problem (400); anything else (a lost
// connection, Redis down) is the gateway's (503).
function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === "ReplyError";
}

function loggedPath(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  if (req.method !== "GET") return path;
  const args = path.indexOf("/", 1);
  return args === -1 ? path : path.slice(0, args);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  if (!opts.token) throw new Error("startGateway: a non-empty token is required");
  const logger = opts.logger ?? pino({ level: "info" });
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const poolSize = Math.max(1, opts.poolSize ?? 4);
  const redisUrl = opts.redisUrl ?? "redis://127.0.0.1:6379";
  // Hashing both sides gives equal lengths, so timingSafeEqual never throws
  // and the comparison leaks neither the token nor its length.
  const tokenDigest = createHash("sha256").update(opts.token).digest();

  const pool: Redis[] = [];
  let lastConnectionError: Error | undefined;
  for (let i = 0; i < poolSize; i++) {
    const connection = new Redis(redisUrl, {
      // RESP2: WITHSCORES, HRANDFIELD and XREAD replies keep the flat or
      // nested array shapes Upstash returns; RESP3 would turn them into pairs.
      protocol: 2,
      stringNumbers: true,
      lazyConnect: true,
      connectionName: "edgeq-gateway",
      // Fail a request within a couple of reconnect attempts instead of
      // holding the HTTP request open for a long outage.
      maxRetriesPerRequest: 2,
      // A command whose reply was lost may have run; sending it again could
      // apply a write twice. The client sees an error and decides.
      autoResendUnfulfilledCommands: false,
    });
    connection.on("error", (err: Error) => {
      lastConnectionError = err;
      logger.warn({ err: err.message }, "redis connection error");
    });
    pool.push(connection);
  }
  try {
    await Promise.all(pool.map((connection) => connection.connect()));
  } catch (err) {
    for (const connection of pool) connection.disconnect();
    // connect() only says "Connection is closed."; the error event says why.
    throw new Error(`cannot connect to Redis: ${errorMessage(lastConnectionError ?? err)}`);
  }
  let nextConnection = 0;
  const pick = (): Redis => pool[nextConnection++ % poolSize] as Redis;

  // Only this process writes through these connections to one Redis, and a
  // reply is sent only after Redis applied the command, so every response
  // already reflects all earlier writes: the token only has to change.
  let syncCounter = 0;
  let closing = false;

  const send = (res: ServerResponse, status: number, body: string): void => {
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "upstash-sync-token": String(++syncCounter),
    };
    if (closing) headers.connection = "close";
    res.writeHead(status, headers);
    res.end(body);
  };

  // Resolves to null when the body outgrows the limit; the caller answers 413.
  const readBody = (req: IncomingMessage): Promise<Buffer | null> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers["content-length"]);
      if (declared > maxBodyBytes) {
        resolve(null);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > maxBodyBytes) {
          req.off("data", onData);
          resolve(null);
          return;
        }
        chunks.push(chunk);
      };
      req.on("data", onData);
      req.once("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
      // The client went away mid-body; nobody will read the answer.
      req.once("error", () => reject(new HttpError(400, "Request body could not be read")));
    });

  const runPipeline = async (commands: string[][], base64: boolean): Promise<string> => {
    // Auto-pipelining often sends a batch of one: skip ioredis's Pipeline.
    if (commands.length === 1) {
      const args = commands[0] as string[];
      const name = takeName(args);
      const refused = refusal(name, args);
      if (refused !== undefined) return `[${encodeError(refused)}]`;
      try {
        return `[${encodeResult(await pick().callBuffer(name, args), base64)}]`;
      } catch (err) {
        return `[${encodeError(errorMessage(err))}]`;
      }
    }
    const entries: string[] = new Array(commands.length);
    const sent: number[] = [];
    const pipeline = pick().pipeline();
    for (let i = 0; i < commands.length; i++) {
      const args = commands[i] as string[];
      const name = takeName(args);
      const refused = refusal(name, args);
      if (refused !== undefined) {
        entries[i] = encodeError(refused);
      } else {
        pipeline.callBuffer(name, args);
        sent.push(i);
      }
    }
    if (sent.length > 0) {
      const replies = (await pipeline.exec()) ?? [];
      for (let j = 0; j < sent.length; j++) {
        const [err, reply] = replies[j] ?? [new Error("no reply"), null];
        entries[sent[j] as number] = err ? encodeError(err.message) : encodeResult(reply, base64);
      }
    }
    return `[${entries.join(",")}]`;
  };

  const runTransaction = async (commands: string[][], base64: boolean): Promise<string> => {
    const transaction = pick().multi();
    for (const args of commands) {
      const name = takeName(args);
      const refused = refusal(name, args);
      if (refused !== undefined) throw new HttpError(400, refused);
      transaction.callBuffer(name, args);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await transaction.exec();
    } catch (err) {
      if (!isReplyError(err)) throw err;
      // EXECABORT alone does not say which command Redis refused.
      const causes = (err as Error & { previousErrors?: Error[] }).previousErrors ?? [];
      if (causes.length === 0) throw new HttpError(400, err.message);
      const detail = causes.map((cause) => cause.message.trim()).join("; ");
      throw new HttpError(400, `${err.message.replace(/\.$/, "")}: ${detail}`);
    }
    if (replies === null) throw new HttpError(400, "EXECABORT Transaction aborted");
    let out = "[";
    for (let i = 0; i < replies.length; i++) {
      const [err, reply] = replies[i] as [Error | null, unknown];
      if (i > 0) out += ",";
      out += err ? encodeError(err.message) : encodeResult(reply, base64);
    }
    return out + "]";
  };

  // Redis errors reject and become 400 in handle(); so do refusals.
  const runOne = async (args: string[], base64: boolean): Promise<string> => {
    const name = takeName(args);
    const refused = refusal(name, args);
    if (refused !== undefined) throw new HttpError(400, refused);
    return encodeResult(await pick().callBuffer(name, args), base64);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);

    const auth = req.headers.authorization;
    let authorized = false;
    if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === "bearer ") {
      authorized = timingSafeEqual(createHash("sha256").update(auth.slice(7)).digest(), tokenDigest);
    }
    if (!authorized) return send(res, 401, '{"error":"Unauthorized"}');

    const encoding = req.headers["upstash-encoding"];
    const base64 = typeof encoding === "string" && encoding.toLowerCase() === "base64";
    try {
      if (req.method === "GET" && path.length > 1) {
        // Upstash's path form: GET /get/key, each segment one argument.
        let command: string[];
        try {
          command = path.slice(1).split("/").map(decodeURIComponent);
        } catch {
          throw new HttpError(400, "Malformed percent-encoding in the path");
        }
        return send(res, 200, await runOne(command, base64));
      }
      if (req.method !== "POST" || (path !== "/" && path !== "/pipeline" && path !== "/multi-exec")) {
        return send(res, 404, '{"error":"Not found"}');
      }
      const raw = await readBody(req);
      if (raw === null) {
        // The rest of the body is drained and dropped; closing afterwards
        // keeps a client that streams a huge body from holding the socket.
        res.setHeader("connection", "close");
        return send(res, 413, encodeError(`Request body exceeds ${maxBodyBytes} bytes`));
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw new HttpError(400, "Request body is not valid JSON");
      }
      let out: string;
      if (path === "/") out = await runOne(toCommand(body), base64);
      else if (path === "/pipeline") out = await runPipeline(toCommands(body), base64);
      else out = await runTransaction(toCommands(body), base64);
      send(res, 200, out);
    } catch (err) {
      if (err instanceof HttpError) return send(res, err.status, encodeError(err.message));
      if (isReplyError(err)) return send(res, 400, encodeError(err.message));
      logger.warn({ err: errorMessage(err), path }, "request failed");
      send(res, 503, encodeError(`Redis unavailable: ${errorMessage(err)}`));
    }
  };

  // One debug line per request; paths of GET commands carry arguments (user
  // data), so only the command name is logged. Headers never are: the token.
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!logger.isLevelEnabled("debug")) return serve(req, res);
    const startedAt = performance.now();
    try {
      await serve(req, res);
    } finally {
      const ms = +(performance.now() - startedAt).toFixed(2);
      logger.debug({ method: req.method, path: loggedPath(req), status: res.statusCode, ms }, "request");
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: errorMessage(err) }, "request handler crashed");
      if (!res.headersSent) send(res, 500, '{"error":"Internal error"}');
      else res.destroy();
    });
  });
  // Longer than the usual client idle timeouts, so the server is not the one
  // closing a connection the client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  const host = opts.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 8079, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    // Open Redis connections would keep the process alive after a failed start.
    for (const connection of pool) connection.disconnect();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const shownHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;
  logger.info({ url, poolSize }, "gateway listening");

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      force.unref();
      await stopped;
      clearTimeout(force);
      await Promise.all(pool.map((connection) => connection.quit().catch(() => connection.disconnect())));
      logger.info("gateway stopped");
    })();
    return closed;
  };

  return { url, port, close };
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const token = process.env.GATEWAY_TOKEN;
  if (!token) {
    console.error("gateway: GATEWAY_TOKEN is required (the bearer token clients send as their Upstash token)");
    process.exit(1);
  }
  const logger = pino({ level: process.env.LOG_LEVEL ?? "info" });
  const gateway = await startGateway({
    token,
    redisUrl: process.env.REDIS_URL || undefined,
    port: envInt("GATEWAY_PORT", 8079),
    host: process.env.GATEWAY_HOST || "127.0.0.1",
    maxBodyBytes: envInt("GATEWAY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
    poolSize: envInt("GATEWAY_POOL_SIZE", 4),
    logger,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    // A second signal means "now": skip waiting for in-flight requests.
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "shutting down");
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMainModule()) {
  main().catch((err: unknown) => {
    console.error(`gateway: ${errorMessage(err)}`);
    process.exit(1);
  });
}
