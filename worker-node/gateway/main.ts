// The gateway's entry point: settings from the environment (worker-node/config.ts),
// then the server until SIGTERM or SIGINT.
//
//   GATEWAY_TOKEN=secret REDIS_URL=redis://127.0.0.1:6379 tsx worker-node/gateway/main.ts
//
// GATEWAY_TOKEN may list several tokens, comma-separated, while one is rotated out.
import pino from "pino";
import { orExit, readGatewayEnv } from "../config.ts";
import { errorMessage } from "./protocol.ts";
import { startGateway } from "./server.ts";

const settings = orExit("edgeq gateway", () => readGatewayEnv());
const logger = pino({ level: settings.LOG_LEVEL });
const gateway = await startGateway({
  token: settings.GATEWAY_TOKEN,
  readOnlyToken: settings.GATEWAY_READONLY_TOKEN,
  acl: settings.GATEWAY_ACL,
  redisUrl: settings.REDIS_URL,
  port: settings.GATEWAY_PORT,
  host: settings.GATEWAY_HOST,
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
  gateway.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: errorMessage(error) }, "shutdown failed");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
