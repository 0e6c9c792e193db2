// Who may use the gateway: bearer tokens, several valid at once so that one
// can be rotated out without downtime, each with full or read-only access
// (Upstash gives a database both kinds). Tokens are never logged.
import { createHash, timingSafeEqual } from "node:crypto";

export type Access = "full" | "read";

/** One token, or several valid at once. */
export type TokenList = string | readonly string[];

const list = (tokens: TokenList | undefined): readonly string[] =>
  tokens === undefined ? [] : typeof tokens === "string" ? [tokens] : tokens;

// Hashing both sides gives equal lengths, so timingSafeEqual never throws
// and the comparison leaks neither a token nor its length.
const digest = (token: string): Buffer => createHash("sha256").update(token).digest();

export interface Tokens {
  /** The access an `Authorization` header grants, or undefined when it grants none. */
  access(authorization?: string): Access | undefined;
  /** Whether any token is read-only. */
  readOnly: boolean;
}

export function tokenChecker(full: TokenList, readOnly?: TokenList): Tokens {
  const fullTokens = list(full);
  const readTokens = list(readOnly);
  if (fullTokens.length === 0 || [...fullTokens, ...readTokens].some((token) => token === "")) {
    throw new Error("the gateway needs at least one token, and no token may be empty");
  }
  if (readTokens.some((token) => fullTokens.includes(token))) {
    throw new Error("a token is given both full and read-only access; give each token one");
  }
  const entries = [
    ...fullTokens.map((token) => ({ digest: digest(token), access: "full" as const })),
    ...readTokens.map((token) => ({ digest: digest(token), access: "read" as const })),
  ];
  const access = (authorization?: string): Access | undefined => {
    if (authorization === undefined || authorization.length <= 7) return undefined;
    if (authorization.slice(0, 7).toLowerCase() !== "bearer ") return undefined;
    const presented = digest(authorization.slice(7));
    let granted: Access | undefined;
    // Every token is compared: the time taken does not tell which one matched.
    for (const entry of entries) {
      if (timingSafeEqual(presented, entry.digest)) granted ??= entry.access;
    }
    return granted;
  };
  return { access, readOnly: readTokens.length > 0 };
}
