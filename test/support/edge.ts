// The edge API as it is self-hosted, for tests that call it over HTTP as a
// browser or a server would: the real gateway in front of the run's Redis, and
// the real edge app on Node (@hono/node-server) reaching it over REST.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Redis } from "@upstash/redis";
import pino from "pino";
import { createEdgeApp } from "../../edge/index.ts";
import type { ApiKeyConfig } from "../../edge/config.ts";
import { startGateway } from "../../worker-node/gateway/server.ts";

export interface EdgeServer {
  /** http://127.0.0.1:<port>, the API's root. */
  url: string;
  close(): Promise<void>;
}

export async function startEdge(options: {
  redisUrl: string;
  prefix: string;
  apiKeys: ApiKeyConfig[];
  corsOrigins?: string[];
}): Promise<EdgeServer> {
  const token = randomBytes(16).toString("hex");
  const gateway = await startGateway({
    redisUrl: options.redisUrl,
    token,
    port: 0,
    logger: pino({ level: "silent" }),
  });
  const app = createEdgeApp({
    redis: new Redis({ url: gateway.url, token, enableTelemetry: false }),
    prefix: options.prefix,
    apiKeys: options.apiKeys,
    corsOrigins: options.corsOrigins,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      // event streams a test left open would hold close() forever
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await gateway.close();
    },
  };
}
