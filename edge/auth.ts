// Bearer API keys with scopes and optional queue limits (API_KEYS). A key is
// never compared as text: both sides are hashed with SHA-256 and the digests
// compared in constant time against every configured key, so neither the
// match nor its position shows in the timing.
import type { ApiKeyConfig, Scope } from "./config.ts";
import { fromHex, sha256, timingSafeEqual, toHex } from "./crypto.ts";
import { keyPolicy, type KeyPolicy } from "./policy.ts";

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
