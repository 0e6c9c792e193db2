// The REST gateway's HTTP server: the Upstash REST protocol (protocol.ts) in
// front of any Redis, so a self-hosted Redis serves the edge exactly as
// Upstash does. The reference is the official @upstash/redis client with its
// defaults: auto-pipelining (nearly every call arrives as POST /pipeline),
// `Upstash-Encoding: base64`, and read-your-writes (it echoes the
// `upstash-sync-token` of the last response). main.ts is its entry point.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pino from "pino";
import { DEFAULTS } from "../../shared/defaults.ts";
import {
  encodeError,
  encodeResult,
  errorMessage,
  HttpError,
  isReplyError,
  refusal,
  takeName,
  toCommand,
  toCommands,
} from "./protocol.ts";

export interface GatewayOptions {
  /** Default DEFAULTS.redisUrl. */
  redisUrl?: string;
  /** The bearer token every request must carry. */
  token: string;
  /** Default DEFAULTS.gatewayPort; 0 picks a free port. */
  port?: number;
  /** Default DEFAULTS.gatewayHost. */
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

// Past this, close() cuts connections that are still busy rather than hang.
const SHUTDOWN_GRACE_MS = 10_000;

function loggedPath(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  if (req.method !== "GET") return path;
  const args = path.indexOf("/", 1);
  return args === -1 ? path : path.slice(0, args);
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  if (!opts.token) throw new Error("startGateway: a non-empty token is required");
  const logger = opts.logger ?? pino({ level: DEFAULTS.logLevel });
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
  const poolSize = Math.max(1, opts.poolSize ?? DEFAULTS.gatewayPoolSize);
  const redisUrl = opts.redisUrl ?? DEFAULTS.redisUrl;
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
    return `${out}]`;
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

  const host = opts.host ?? DEFAULTS.gatewayHost;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? DEFAULTS.gatewayPort, host, () => {
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
