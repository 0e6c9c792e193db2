// The edge app (edge/app.ts's createApp) served on Node with
// @hono/node-server, talking REST to the gateway as it talks to Upstash in
// production. Reports `{ unavailable }` while the app has not landed.
import { existsSync } from "node:fs";
import { serve } from "@hono/node-server";
import { Redis } from "@upstash/redis";
import { ROOT } from "../children.ts";
import { closeOnExit, report } from "./host.ts";

const appPath = `${ROOT}edge/app.ts`;
if (!existsSync(appPath)) {
  report({ unavailable: "edge/app.ts is not in this checkout yet" });
  process.exit(0);
}
// A computed specifier: the file may not exist when the bench is type-checked.
const { createApp } = (await import(appPath)) as { createApp?: (config: unknown) => unknown };
if (typeof createApp !== "function") {
  report({ unavailable: "edge/app.ts exports no createApp" });
  process.exit(0);
}
const made = (await createApp({
  redis: new Redis({ url: process.env.GATEWAY_URL!, token: process.env.GATEWAY_TOKEN! }),
  prefix: process.env.EDGEQ_PREFIX,
  apiKeys: [{ name: "bench", key: process.env.API_KEY!, scopes: ["enqueue", "read"] }],
})) as { fetch?: unknown; app?: { fetch?: unknown } };
const fetch = (made.fetch ?? made.app?.fetch) as ((request: Request) => Response | Promise<Response>) | undefined;
if (typeof fetch !== "function") {
  report({ unavailable: "createApp(config) returned no Hono app (no fetch)" });
  process.exit(0);
}
const server = serve({ fetch: fetch.bind(made.fetch ? made : made.app), port: 0, hostname: "127.0.0.1" }, (info) => {
  report({ url: `http://127.0.0.1:${info.port}` });
});
closeOnExit(() => new Promise((resolve) => server.close(resolve)));
