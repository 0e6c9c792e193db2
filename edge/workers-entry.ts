// The Cloudflare Workers entry. Settings come from bindings (vars in
// wrangler.toml, secrets set with `wrangler secret put`) and are read once
// per isolate, not per request.
import { Redis } from "@upstash/redis/cloudflare";
import type { ExecutionContext } from "hono";
import { createApp } from "./app.ts";
import { readEnv, type EdgeEnv } from "./config.ts";
import { PROBLEM_CONTENT_TYPE, problemBody } from "./problem.ts";

// workerd hands every request of an isolate the same env object.
const apps = new WeakMap<EdgeEnv, ReturnType<typeof createApp>>();

function appFor(env: EdgeEnv): ReturnType<typeof createApp> {
  let app = apps.get(env);
  if (!app) {
    const settings = readEnv(env);
    const redis = new Redis({ url: settings.redisUrl, token: settings.redisToken, enableTelemetry: false });
    app = createApp({ ...settings, redis });
    apps.set(env, app);
  }
  return app;
}

export default {
  async fetch(request: Request, env: EdgeEnv, ctx: ExecutionContext): Promise<Response> {
    let app: ReturnType<typeof createApp>;
    try {
      app = appFor(env);
    } catch (error) {
      // readEnv's messages name variables and fields, never their values.
      console.error(JSON.stringify({ level: "error", error: error instanceof Error ? error.message : String(error) }));
      const body = problemBody(500, {
        slug: "misconfigured",
        title: "edgeq is misconfigured",
        detail: "see the Worker's logs",
      });
      return new Response(JSON.stringify(body), { status: 500, headers: { "Content-Type": PROBLEM_CONTENT_TYPE } });
    }
    return app.fetch(request, env, ctx);
  },
};
