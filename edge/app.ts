// The edge app: a plain Hono app over web-standard Request/Response, so the
// same object serves Cloudflare Workers (workers-entry.ts), Node (node-entry.ts)
// and tests.
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { DEFAULTS } from "../shared/index.ts";
import { Keyring } from "./auth.ts";
import { dashboard } from "./dashboard/index.ts";
import type { AppConfig } from "./config.ts";
import type { AppEnv } from "./context.ts";
import { jsonDepthLimit } from "./json-depth.ts";
import { serveOpenApi } from "./openapi.ts";
import { notFound, onError, problem, validationHook } from "./problem.ts";
import { events } from "./routes/events.ts";
import { groups } from "./routes/groups.ts";
import { hooks } from "./routes/hooks.ts";
import { jobs } from "./routes/jobs.ts";
import { logs } from "./routes/logs.ts";
import { metrics } from "./routes/metrics.ts";
import { queueEvents } from "./routes/queue-events.ts";
import { schedules } from "./routes/schedules.ts";
import { queues } from "./routes/queues.ts";
import { Store } from "./store.ts";

export type { AppConfig, AppEnv };

export function createApp(config: AppConfig): OpenAPIHono<AppEnv> {
  const store = new Store(config.redis, config.prefix);
  const keyring = new Keyring(config.apiKeys);
  const hookTable = config.hooks ?? {};
  const origins = config.corsOrigins ?? [];
  const maxBodyBytes = config.maxBodyBytes ?? DEFAULTS.maxBodyBytes;

  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use(requestId());
  app.use(
    secureHeaders({
      // JSON and event streams only: nothing on this origin should render or frame.
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      // but a route that sets its own keeps it: the dashboard's pages allow this origin's scripts and styles
      overwrite: false,
    }),
  );
  app.use(
    cors({
      origin: (origin) => (origins.includes("*") ? "*" : origins.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-Request-Id"],
      exposeHeaders: [
        "Location",
        "Idempotency-Key",
        "Idempotent-Replayed",
        "X-Request-Id",
        "WWW-Authenticate",
        "Retry-After",
      ],
      maxAge: 600,
    }),
  );
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) =>
        problem(c, 413, { slug: "body-too-large", detail: `the body is larger than ${maxBodyBytes} bytes` }),
    }),
  );
  app.use(jsonDepthLimit(DEFAULTS.maxJsonDepth));
  app.use(async (c, next) => {
    c.set("store", store);
    c.set("keyring", keyring);
    c.set("hooks", hookTable);
    c.set("traceUrl", config.traceUrl);
    await next();
  });

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.route("/", jobs);
  app.route("/", logs);
  app.route("/", queues);
  app.route("/", groups);
  app.route("/", events);
  app.route("/", queueEvents);
  app.route("/", hooks);
  app.route("/", metrics);
  app.route("/", schedules);
  app.route("/", dashboard);
  serveOpenApi(app);

  app.onError(onError);
  app.notFound(notFound);
  return app;
}

/** The package's name for createApp (`import { createEdgeApp } from "edgeq/edge"`). */
export const createEdgeApp = createApp;
