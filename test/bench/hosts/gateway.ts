// The REST gateway in its own process, as it runs in production, so its
// event loop is not the one generating the load.
import pino from "pino";
import { startGateway } from "../../../worker-node/gateway/server.ts";
import { closeOnExit, report } from "./host.ts";

const gateway = await startGateway({
  redisUrl: process.env.REDIS_URL!,
  token: process.env.GATEWAY_TOKEN!,
  port: 0,
  logger: pino({ level: process.env.LOG_LEVEL ?? "warn" }),
});
closeOnExit(() => gateway.close());
report({ url: gateway.url });
