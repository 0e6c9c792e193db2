// The edge on Node: the same app as on Workers, for self-hosting and local
// development (typically against the gateway in worker-node/), from the
// environment until SIGTERM or SIGINT. Same variable names as the Worker's
// bindings, plus EDGE_PORT (default 8787) and EDGE_HOST (default 127.0.0.1).
// Two entries run it: node-entry.ts by path, and the bin's `edgeq edge`,
// which exports its spans over OTLP first (worker-node/cli/edge.ts).
import { serve } from "@hono/node-server";
import { Redis } from "@upstash/redis";
import { createApp } from "./app.ts";
import { ConfigError, readListenEnv } from "../shared/settings.ts";
import { readEnv } from "./config.ts";

/** Serves the edge; `stopped` runs once a signal has closed the server, before the process exits. */
export function serveEdgeOnNode(stopped: () => Promise<void> = async () => {}): void {
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
    process.once(signal, () => server.close(() => void stopped().finally(() => process.exit(0))));
  }
}
