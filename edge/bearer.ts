// The route middleware that asks for an API key: it reads the bearer token,
// finds who holds it (auth.ts), refuses a key without the route's scope or
// queue, and counts the request against the key's rate limit (policy.ts).
// Apart from auth.ts so that the keyring sits below the context every route
// sees, and this, which needs that context, above it.
import type { MiddlewareHandler } from "hono";
import { can, reaches } from "./auth.ts";
import { TOKEN, type Scope } from "./config.ts";
import type { AppEnv } from "./context.ts";
import { limitRequests } from "./policy.ts";
import { Problem } from "./problem.ts";

const BEARER = /^Bearer +(\S+) *$/i;

function unauthorized(detail: string, error?: "invalid_token"): Problem {
  // RFC 6750: say which scheme is wanted, and whether the token was the problem.
  const challenge = error ? `Bearer realm="edgeq", error="${error}"` : `Bearer realm="edgeq"`;
  return new Problem(401, "unauthorized", "Authentication required", detail, { "WWW-Authenticate": challenge });
}

/**
 * Route middleware: the caller must present a key with `scope` (admin has
 * every scope) and, on a route with a `:queue` parameter, a key that reaches
 * that queue. Routes that find the queue only later (jobs by id) check with
 * `reaches` themselves. Only then does the request count against the key's
 * rate limit: a refusal so far has cost no Redis call, so it need not be counted.
 */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("Authorization");
    if (!header) throw unauthorized("send an API key as `Authorization: Bearer <key>`");
    const token = BEARER.exec(header)?.[1];
    const principal = token && TOKEN.test(token) ? await c.var.keyring.identify(token) : null;
    if (!principal) throw unauthorized("the API key is not valid", "invalid_token");
    if (!can(principal, scope)) {
      throw new Problem(403, "forbidden", "Not allowed", `this API key lacks the "${scope}" scope`);
    }
    const queue = c.req.param("queue");
    if (queue !== undefined && !reaches(principal, queue)) {
      throw new Problem(403, "forbidden", "Not allowed", `this API key cannot use queue "${queue}"`);
    }
    await limitRequests(c.var.store, principal);
    c.set("principal", principal);
    await next();
  };
}
