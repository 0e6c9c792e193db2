// The script that counts an API key's requests, typed: the edge's rate
// limits (edge/policy.ts), one counter per key and window.
import * as lua from "./generated.ts";
import { Transition } from "./transition.ts";

export interface RequestCount {
  allowed: boolean;
  /** Requests in the current window, this one included. */
  count: number;
  /** When the window ends, epoch ms. */
  resetAt: number;
}

export const countRequest = new Transition(
  lua.countRequest,
  /** key: the API key's id, never the key; requests: allowed per window of windowMs */
  (p: { now: number; key: string; requests: number; windowMs: number }) => [p.now, p.key, p.requests, p.windowMs],
  (reply) => reply as RequestCount,
  // the window's counter, as the script names it
  (keys, p) => [keys.requests(p.key, String(Math.floor(p.now / p.windowMs)))],
);
