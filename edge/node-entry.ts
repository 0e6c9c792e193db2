// The Node entry: the same app as on Workers, for self-hosting and local
// development (typically against the gateway in worker-node/). Same variable
// names as the Worker's bindings, plus EDGE_PORT (default 8787) and EDGE_HOST
// (default 127.0.0.1).
//
//   UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079 UPSTASH_REDIS_REST_TOKEN=… API_KEYS='[…]' tsx edge/node-entry.ts
import { serve } from "@hono/node-server";
import { Redis } from "@upstash/redis";
import { createApp } from "./app.ts";
import { ConfigError, readListenEnv } from "../shared/settings.ts";
import { readEnv } from "./config.ts";

const [settings, listen] = (() => {
  try {
    return [readEnv(process.env), readListenEnv(process.env)] as const;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`edgeq edge: ${error.message}`);
    process.exit(1);
  }
})();
const app = createApp({
  ...settings,
  redis: new Redis({ url: settings.redisUrl, token: settings.redisToken, enableTelemetry: false }),
});
const { EDGE_PORT: port, EDGE_HOST: hostname } = listen;

const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  console.log(JSON.stringify({ level: "info", msg: "edgeq edge listening", url: `http://${hostname}:${info.port}` }));
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
