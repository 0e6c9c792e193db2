// The OpenAPI 3.1 document, generated from the route definitions and the
// same zod schemas that validate requests, so it cannot drift from the API.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.ts";
import { problems } from "./schemas.ts";

type Document = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

/** Adds `GET /openapi.json` (no key needed); the document is built once per app. */
export function serveOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "an API key from API_KEYS, with the scopes, queues and limits it lists",
  });
  let document: Document | undefined;
  app.get("/openapi.json", (c) => {
    document ??= build(app);
    // relative to where this document is served, so it holds behind a proxy and under a mount path
    const base = new URL(c.req.url).pathname.replace(/\/openapi\.json$/, "");
    return c.json({ ...document, servers: [{ url: base || "/", description: "this API" }] });
  });
}

function build(app: OpenAPIHono<AppEnv>): Document {
  // every route that takes a key counts its requests against the key's rateLimit (requireScope)
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type === "route" && definition.route.security?.length) {
      definition.route.responses = { ...definition.route.responses, ...problems(429) };
    }
  }
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "edgeq",
      version: "1",
      description:
        "Enqueue jobs, read their results and receive webhooks. Errors are application/problem+json (RFC 9457).",
    },
  });
}
