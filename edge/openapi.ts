// The OpenAPI 3.1 document, generated from the route definitions and the
// same zod schemas that validate requests, so it cannot drift from the API.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.ts";

type Document = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

/** Adds `GET /openapi.json` (no key needed); the document is built once per app. */
export function serveOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "an API key from API_KEYS, with the scopes and queues it lists",
  });
  let document: Document | undefined;
  app.get("/openapi.json", (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "edgeq",
        version: "1",
        description:
          "Enqueue jobs, read their results and receive webhooks. Errors are application/problem+json (RFC 9457).",
      },
    });
    return c.json(document);
  });
}
