// The gateway's entry point, `edgeq gateway` (in the repository, `tsx
// worker-node/gateway/main.ts`): settings from the environment
// (worker-node/config.ts), then the server until SIGTERM or SIGINT.
//
//   GATEWAY_TOKEN=secret REDIS_URL=redis://127.0.0.1:6379 edgeq gateway
//
// GATEWAY_TOKEN may list several tokens, comma-separated, while one is rotated out.
import pino from "pino";
import { DEFAULTS } from "../../shared/defaults.ts";
import { orExit, readGatewayEnv, redisTarget, replicaWait } from "../config.ts";
import { startCommandTracing } from "../tracing.ts";
import { errorMessage } from "./protocol.ts";
import { startGateway } from "./server.ts";

const USAGE = `usage: edgeq gateway
Serves Upstash's REST protocol in front of a Redis or a Redis Cluster, for the
edge, until SIGTERM or SIGINT. It takes no arguments; the environment sets it:
  GATEWAY_TOKEN           the bearer token(s) clients send, comma-separated (required)
  GATEWAY_READONLY_TOKEN  tokens that may only read, comma-separated
  REDIS_URL               the Redis behind it (default ${DEFAULTS.redisUrl})
  REDIS_CLUSTER_NODES     a Redis Cluster's nodes instead: host:port, comma-separated (REDIS_URL lends
                          its user, password and TLS)
  REDIS_SENTINELS         Sentinels instead, host:port, comma-separated, that name the master
                          REDIS_SENTINEL_NAME (default ${DEFAULTS.sentinelName}); REDIS_SENTINEL_PASSWORD theirs
  EDGEQ_WAIT_REPLICAS     answer a request that writes once WAIT says this many replicas have it
                          (default 0: off), waiting EDGEQ_WAIT_TIMEOUT_MS (default ${DEFAULTS.waitTimeoutMs}); else 503
  GATEWAY_ACL             provision (connect as a Redis user denied administration) or off
  GATEWAY_HOST            address to listen on (default ${DEFAULTS.gatewayHost}); TLS goes in front
  GATEWAY_PORT            port (default ${DEFAULTS.gatewayPort})
  GATEWAY_UPSTASH_PARITY  1: also serve what Upstash serves (KEYS, FLUSHDB, FLUSHALL, SORT, inside scripts too),
                          for a local stand-in for Upstash; loopback GATEWAY_HOST only (default 0: refused)
  GATEWAY_POOL_SIZE, GATEWAY_MAX_BODY_BYTES, GATEWAY_MAX_SUBSCRIPTIONS, LOG_LEVEL
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME (default edgeq-gateway), …   its spans over OTLP`;

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
  console.log(USAGE);
  process.exit(0);
}
if (args.length > 0) {
  console.error(`edgeq gateway: it takes no arguments, got "${args.join(" ")}"\n${USAGE}`);
  process.exit(2);
}

const settings = orExit("edgeq gateway", () => readGatewayEnv());
const tracing = startCommandTracing("edgeq gateway", "edgeq-gateway");
const logger = pino({ level: settings.LOG_LEVEL });
const { url: redisUrl, clusterNodes, sentinel } = redisTarget(settings);
const starting = startGateway({
  token: settings.GATEWAY_TOKEN,
  readOnlyToken: settings.GATEWAY_READONLY_TOKEN,
  acl: settings.GATEWAY_ACL,
  redisUrl,
  clusterNodes,
  sentinel,
  waitReplicas: replicaWait(settings),
  port: settings.GATEWAY_PORT,
  host: settings.GATEWAY_HOST,
  upstashParity: settings.GATEWAY_UPSTASH_PARITY,
  maxBodyBytes: settings.GATEWAY_MAX_BODY_BYTES,
  poolSize: settings.GATEWAY_POOL_SIZE,
  maxSubscriptions: settings.GATEWAY_MAX_SUBSCRIPTIONS,
  logger,
}).catch((error: unknown) => {
  console.error(`edgeq gateway: ${errorMessage(error)}`);
  process.exit(1);
});

let stopping = false;
const stop = (signal: string): void => {
  // A second signal means "now": skip waiting for in-flight requests.
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, "shutting down");
  starting
    .then((gateway) => gateway.close())
    // the spans of the last requests go out before the process does
    .then(() => tracing?.shutdown())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: errorMessage(error) }, "shutdown failed");
        process.exit(1);
      },
    );
};
// Before the server starts, not after: it says it is listening before
// startGateway returns, and a stop from then on must still close it cleanly.
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
