// Bearer API keys with scopes and optional queue limits (API_KEYS). A key is
// never compared as text: both sides are hashed with SHA-256 and the digests
// compared in constant time against every configured key, so neither the
// match nor its position shows in the timing.
import type { MiddlewareHandler } from "hono";
import type { ApiKeyConfig, Scope } from "./config.ts";
import { fromHex, sha256, timingSafeEqual, toHex } from "./crypto.ts";
import { keyPolicy, limitRequests, type KeyPolicy } from "./policy.ts";
import { Problem } from "./problem.ts";
import type { AppEnv } from "./context.ts";

/** Who is calling: what a key may do, never the key itself. */
export interface Principal {
  name: string;
  /** Names the key's counters: half of its SHA-256, which is no more secret than the `sha256` form of API_KEYS. */
  id: string;
  scopes: ReadonlySet<Scope>;
  /** null: every queue. */
  queues: ReadonlySet<string> | null;
  policy: KeyPolicy;
}

export class Keyring {
  #entries: Promise<{ digest: Uint8Array; principal: Principal }[]>;

  constructor(keys: ApiKeyConfig[]) {
    this.#entries = Promise.all(
      keys.map(async (k, i) => {
        const digest = k.sha256 !== undefined ? fromHex(k.sha256)! : await sha256(k.key!);
        return {
          digest,
          principal: {
            name: k.name ?? `key#${i}`,
            id: toHex(digest.subarray(0, 16)),
            scopes: new Set(k.scopes),
            queues: k.queues ? new Set(k.queues) : null,
            policy: keyPolicy(k),
          },
        };
      }),
    );
  }

  async identify(token: string): Promise<Principal | null> {
    const digest = await sha256(token);
    let found: Principal | null = null;
    for (const entry of await this.#entries) {
      // no early exit: every key costs the same whether or not one matched
      if (timingSafeEqual(digest, entry.digest) && !found) found = entry.principal;
    }
    return found;
  }
}

export function can(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has("admin") || principal.scopes.has(scope);
}

export function reaches(principal: Principal, queue: string): boolean {
  return principal.queues === null || principal.queues.has(queue);
}

/** RFC 6750's b64token: what a bearer token may be made of, and so what an API key may be made of. */
export const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
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
