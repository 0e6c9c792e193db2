// A listing's cursor as callers see it: opaque, base64url of the list script's own cursor.
import { ValidationError } from "./errors.ts";
import type { ListCursor } from "./scripts/index.ts";

export function encodeCursor(cursor: ListCursor): string {
  return btoa(JSON.stringify([cursor.score, cursor.count]))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export function decodeCursor(text: string): ListCursor {
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
