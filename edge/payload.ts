// Values a webhook's JSON body names by a dotted path (HOOKS' `group`, e.g.
// "repository.full_name"): read with own properties only, so that a sender's
// body cannot reach "__proto__" or "constructor".

/** The value at a dotted path, or undefined where the path leads nowhere. */
export function valueAt(body: unknown, path: string): unknown {
  let value = body;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * A name (a group) from the value at a path: a string or a number, with every character outside the id alphabet
 * made "_" and cut to 128 characters, so that any sender's value is a valid name; undefined for any other value.
 */
export function nameAt(body: unknown, path: string): string | undefined {
  const value = valueAt(body, path);
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const name = String(value)
    .replace(/[^A-Za-z0-9_.:-]/g, "_")
    .slice(0, 128);
  return name || undefined;
}
