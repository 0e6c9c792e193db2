// The REST gateway's HTTP server: the Upstash REST protocol (protocol.ts) in
// front of any Redis, so a self-hosted Redis serves the edge exactly as
// Upstash does. The reference is the official @upstash/redis client with its
// defaults: auto-pipelining (nearly every call arrives as POST /pipeline),
// `Upstash-Encoding: base64`, and read-your-writes (it echoes the
// `upstash-sync-token` of the last response). main.ts is its entry point;
// commands.ts runs what a request asks for.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import pino from "pino";
import { DEFAULTS } from "../../shared/defaults.ts";
import type { ReplicaWait } from "../../shared/replicas.ts";
import { type Connection, connect, type RedisTarget, type SentinelTarget } from "../connection.ts";
import { type AclMode, gatewayUser } from "./acl.ts";
import { type ClusterCommands, clusterCommands, nodeUrl, opened } from "./cluster.ts";
import { Commands, type Replicated } from "./commands.ts";
import { RequestSpan } from "./request-span.ts";
import {
  encodeError,
  errorMessage,
  HttpError,
  isReplyError,
  readOnlyCommands,
  type SubscribeCommand,
  toCommand,
  toCommands,
} from "./protocol.ts";
import { subscriptions } from "./subscriptions.ts";
import { type TokenList, tokenChecker } from "./tokens.ts";

export interface GatewayOptions {
  /** Default DEFAULTS.redisUrl. */
  redisUrl?: string;
  /** host:port of a Redis Cluster's seed nodes; redisUrl then lends only its credentials and TLS. */
  clusterNodes?: string[];
  /** Sentinels that name the master; redisUrl then lends only its credentials, database and TLS. */
  sentinel?: SentinelTarget;
  /** Answer a request that writes only once WAIT says this many replicas have it (EDGEQ_WAIT_REPLICAS). */
  waitReplicas?: ReplicaWait;
  /** The bearer token requests carry, or several, all valid at once while one is rotated out. */
  token: TokenList;
  /** Tokens that may only read: commands Redis flags read-only, EVAL_RO/EVALSHA_RO, subscriptions. */
  readOnlyToken?: TokenList;
  /** How clients are kept from administering Redis (acl.ts); default DEFAULTS.gatewayAcl. */
  acl?: AclMode;
  /** Default DEFAULTS.gatewayPort; 0 picks a free port. */
  port?: number;
  /** Default DEFAULTS.gatewayHost. */
  host?: string;
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number;
  /** Redis connections shared by all requests; default 4. */
  poolSize?: number;
  /** Subscriptions held at once, one Redis connection each; default DEFAULTS.gatewayMaxSubscriptions. */
  maxSubscriptions?: number;
  /**
   * Serve what Upstash serves of Redis's dangerous commands (KEYS, FLUSHDB, FLUSHALL, SORT), by name and inside
   * scripts, as a developer's local stand-in for Upstash; refused unless host is a loopback address. Default off.
   */
  upstashParity?: boolean;
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

/** The path without its arguments (user data): `/get/key` is logged as `/get`, `/subscribe/ch` as `/subscribe`. */
function loggedPath(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  const args = path.indexOf("/", 1);
  return args === -1 ? path : path.slice(0, args);
}

/** Upstash's path form: each segment one argument, percent-decoded. */
function pathArguments(path: string): string[] {
  try {
    return path.slice(1).split("/").map(decodeURIComponent);
  } catch {
    throw new HttpError(400, "Malformed percent-encoding in the path");
  }
}

/** SUBSCRIBE or PSUBSCRIBE when the path asks for a stream of messages. */
function streamedCommand(path: string): SubscribeCommand | undefined {
  const end = path.indexOf("/", 1);
  const name = (end === -1 ? path.slice(1) : path.slice(1, end)).toUpperCase();
  return name === "SUBSCRIBE" || name === "PSUBSCRIBE" ? name : undefined;
}

/** Whether an address to listen on reaches this machine alone. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const host = opts.host ?? DEFAULTS.gatewayHost;
  const parity = opts.upstashParity ?? false;
  if (parity && !isLoopback(host)) {
    throw new Error(
      `GATEWAY_UPSTASH_PARITY=1 lets every token holder run KEYS, FLUSHALL and scripts that call them, as a local ` +
        `stand-in for Upstash: it needs GATEWAY_HOST on loopback (127.0.0.1, ::1 or localhost), not ${host}`,
    );
  }
  const tokens = tokenChecker(opts.token, opts.readOnlyToken);
  const logger = opts.logger ?? pino({ level: DEFAULTS.logLevel });
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
  const poolSize = Math.max(1, opts.poolSize ?? DEFAULTS.gatewayPoolSize);
  const clusterNodes = opts.clusterNodes?.length ? opts.clusterNodes : undefined;
  const { sentinel, waitReplicas } = opts;
  if (clusterNodes && waitReplicas) throw new Error("waitReplicas is not supported in front of a Redis Cluster");
  const user = await gatewayUser(
    { url: opts.redisUrl ?? DEFAULTS.redisUrl, clusterNodes, sentinel },
    opts.acl ?? DEFAULTS.gatewayAcl,
    logger,
    parity,
  );
  if (parity) logger.warn("GATEWAY_UPSTASH_PARITY=1: KEYS, FLUSHDB, FLUSHALL and SORT are served, inside scripts too");

  let lastConnectionError: Error | undefined;
  let restoring: Promise<void> | undefined;
  const onConnectionError = (err: Error): void => {
    lastConnectionError = err;
    logger.warn({ err: err.message }, "redis connection error");
    // A restarted Redis forgets the user the gateway made; make it again and
    // the connection's next attempt gets in.
    if (user.restore !== undefined && err.message.startsWith("WRONGPASS")) {
      restoring ??= user
        .restore()
        .catch((restoreError: unknown) => logger.error({ err: errorMessage(restoreError) }, "cannot restore the user"))
        .finally(() => (restoring = undefined));
    }
  };
  const connection = (name: string, target: RedisTarget, options: RedisOptions = {}): Connection => {
    const redis = connect(target, {
      // RESP2: WITHSCORES, HRANDFIELD and XREAD replies keep the flat or
      // nested array shapes Upstash returns; RESP3 would turn them into pairs.
      protocol: 2,
      stringNumbers: true,
      lazyConnect: true,
      connectionName: name,
      // The check runs INFO, which the gateway's user may not run.
      enableReadyCheck: false,
      // Fail a request within a couple of reconnect attempts instead of
      // holding the HTTP request open for a long outage.
      maxRetriesPerRequest: 2,
      // A command whose reply was lost may have run; sending it again could
      // apply a write twice. The client sees an error and decides.
      autoResendUnfulfilledCommands: false,
      ...options,
    });
    redis.on("error", onConnectionError);
    // A cluster reports each node's connection apart; WRONGPASS comes from there.
    redis.on("node error", onConnectionError);
    return redis;
  };

  const pool = Array.from({ length: poolSize }, () =>
    connection("edgeq-gateway", { url: user.url, clusterNodes, sentinel }),
  );
  try {
    await Promise.all(pool.map(opened));
  } catch (err) {
    for (const redis of pool) redis.disconnect();
    // connect() only says "Connection is closed."; the error event says why.
    throw new Error(`cannot connect to Redis: ${errorMessage(lastConnectionError ?? err)}`);
  }
  let readable: Set<string> | undefined;
  let cluster: ClusterCommands | undefined;
  let replicated: Replicated | undefined;
  if (tokens.readOnly || clusterNodes || waitReplicas) {
    try {
      const commandTable = await (pool[0] as Connection).call("COMMAND");
      if (tokens.readOnly) readable = readOnlyCommands(commandTable);
      if (clusterNodes) cluster = clusterCommands(commandTable);
      if (waitReplicas) replicated = { wait: waitReplicas, readOnly: readOnlyCommands(commandTable) };
    } catch (err) {
      for (const redis of pool) redis.disconnect();
      throw new Error(`cannot read Redis's command table (COMMAND), which the gateway needs: ${errorMessage(err)}`);
    }
  }
  const commands = new Commands(pool, cluster, replicated, parity);
  let nextNode = 0;
  // A subscription holds a connection that sends nothing but SUBSCRIBE, and
  // on a cluster any node serves it, since PUBLISH reaches every node: a
  // plain connection to one master, each in turn. (ioredis's Cluster would
  // subscribe through a connection whose ready check runs INFO, which the
  // gateway's user may not run, and warn on stderr at every subscription.)
  // A node away for longer than a restart has likely failed over: the
  // stream then ends, and the client subscribes again, to a node that serves.
  const subscriber = (): Redis => {
    const name = "edgeq-gateway-subscriber";
    if (clusterNodes === undefined) return connection(name, { url: user.url, sentinel }) as Redis;
    const masters = (pool[0] as Cluster).nodes("master");
    const master = masters[nextNode++ % masters.length] as Redis | undefined;
    if (master === undefined) throw new HttpError(503, "ERR the cluster has no master to subscribe on; try again");
    const { host, port } = master.options as { host: string; port: number };
    return connection(
      name,
      { url: nodeUrl(user.url, host, port) },
      {
        retryStrategy: (attempt) => (attempt > 10 ? null : Math.min(50 * 2 ** attempt, 2_000)),
      },
    ) as Redis;
  };
  const streams = subscriptions(subscriber, opts.maxSubscriptions ?? DEFAULTS.gatewayMaxSubscriptions);

  // Only this process writes through these connections to one Redis, and a
  // reply is sent only after Redis applied the command, so every response
  // already reflects all earlier writes: the token only has to change.
  let syncCounter = 0;
  let closing = false;

  const nextSyncToken = (): string => String(++syncCounter);

  const send = (res: ServerResponse, status: number, body: string): void => {
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "upstash-sync-token": nextSyncToken(),
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

  const serve = async (req: IncomingMessage, res: ServerResponse, span: RequestSpan): Promise<void> => {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);

    const access = tokens.access(req.headers.authorization);
    if (access === undefined) return send(res, 401, '{"error":"Unauthorized"}');
    // A read-only token may subscribe (that only reads) and run what this holds.
    const limit = access === "read" ? readable : undefined;

    const encoding = req.headers["upstash-encoding"];
    const base64 = typeof encoding === "string" && encoding.toLowerCase() === "base64";
    try {
      const streamed = streamedCommand(path);
      if (streamed !== undefined && (req.method === "GET" || req.method === "POST")) {
        // @upstash/redis posts `[]`, which says nothing the path does not.
        req.resume();
        return await streams.stream(res, streamed, pathArguments(path).slice(1), nextSyncToken());
      }
      if (req.method === "GET" && path.length > 1) {
        span.commands(1);
        return send(res, 200, await commands.one(pathArguments(path), base64, limit));
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
      const batch = path === "/" ? undefined : toCommands(body);
      span.commands(batch?.length ?? 1);
      let out: string;
      if (batch === undefined) out = await commands.one(toCommand(body), base64, limit);
      else if (path === "/pipeline") out = await commands.pipeline(batch, base64, limit);
      else out = await commands.transaction(batch, base64, limit);
      send(res, 200, out);
    } catch (err) {
      if (err instanceof HttpError) return send(res, err.status, encodeError(err.message));
      if (isReplyError(err)) return send(res, 400, encodeError(err.message));
      logger.warn({ err: errorMessage(err), path }, "request failed");
      send(res, 503, encodeError(`Redis unavailable: ${errorMessage(err)}`));
    }
  };

  // One span and one debug line per request; paths of GET commands carry
  // arguments (user data), so only the command name is kept. Headers never
  // are: the token.
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = loggedPath(req);
    const span = new RequestSpan(req, path);
    const startedAt = performance.now();
    try {
      await serve(req, res, span);
    } finally {
      span.end(res.statusCode);
      if (logger.isLevelEnabled("debug")) {
        const ms = +(performance.now() - startedAt).toFixed(2);
        logger.debug({ method: req.method, path, status: res.statusCode, ms }, "request");
      }
    }
  };

  // Connections that have not sent a request yet: clients open spares ahead
  // of need (undici does when a stream is aborted), and Node counts them
  // neither idle nor busy, so close() would wait for them to time out.
  const unused = new Set<Socket>();
  const server = createServer((req, res) => {
    unused.delete(req.socket);
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
  server.on("connection", (socket: Socket) => {
    unused.add(socket);
    socket.once("close", () => unused.delete(socket));
  });

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
    for (const redis of pool) redis.disconnect();
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
      for (const socket of unused) socket.destroy();
      // A stream has no end to wait for.
      streams.endAll();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      force.unref();
      await stopped;
      clearTimeout(force);
      await Promise.all(pool.map((redis) => redis.quit().catch(() => redis.disconnect())));
      logger.info("gateway stopped");
    })();
    return closed;
  };

  return { url, port, close };
}
