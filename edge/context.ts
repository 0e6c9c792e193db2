// What every route finds on its context: a leaf module, so that routes and
// middleware name the type without importing the app.
import type { RequestIdVariables } from "hono/request-id";
import type { Keyring, Principal } from "./auth.ts";
import type { HookConfig } from "./config.ts";
import type { Store } from "./store.ts";

export type AppEnv = {
  Variables: RequestIdVariables & {
    store: Store;
    keyring: Keyring;
    hooks: Record<string, HookConfig>;
    /** EDGEQ_TRACE_URL: where the dashboard links a job's trace, {traceId} in it. */
    traceUrl: string | undefined;
    /** Set by requireScope on routes that need a key. */
    principal: Principal;
  };
};
