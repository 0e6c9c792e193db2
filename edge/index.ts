// What `edgeq/edge` exports: the HTTP API as a Hono app, to mount inside an
// app of one's own (`app.route("/queue", createEdgeApp(config))`), and the
// reader of the variables the ready-made entries take. The Cloudflare Workers
// entry itself is `edgeq/edge/workers-entry`.
export { createApp, createEdgeApp } from "./app.ts";
export type { AppConfig, AppEnv } from "./app.ts";
export { ConfigError, readEnv, SCOPES } from "./config.ts";
export type { ApiKeyConfig, EdgeEnv, HookConfig, HookScheme, Scope } from "./config.ts";
