// A listing's cursor as callers hold it: opaque, so that a script's own
// cursor can change without breaking a caller that keeps one.
import { ValidationError } from "./errors.ts";
import type * as scripts from "./scripts/index.ts";

/** Cursors are opaque to callers: base64url of the script's own cursor. */
export function encodeCursor(cursor: scripts.ListCursor): string {
  return btoa(JSON.stringify([cursor.score, cursor.count]))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export function decodeCursor(text: string): scripts.ListCursor {
  try {
    const [score, count] = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/"))) as [unknown, unknown];
    const fine = typeof count === "number" && Number.isInteger(count) && count >= 0 && count <= 1_000_000;
    if (typeof score === "string" && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(score) && fine) {
      return { score, count: count as number };
    }
  } catch {
    // refused below
  }
  throw new ValidationError([{ field: "cursor", message: "is not a cursor this listing gave out" }]);
}
