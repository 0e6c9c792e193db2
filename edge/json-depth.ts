// A bound on how deeply a JSON body nests, checked before anything parses it.
// JSON.parse copes with any depth, but the validator and JSON.stringify
// recurse once per level: a few thousand levels, a few kilobytes of brackets,
// exhaust the stack and would answer 500.
import type { MiddlewareHandler } from "hono";
import { Problem } from "./problem.ts";

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether brackets outside strings nest deeper than `max`. It reads bytes, not
 * text: in UTF-8 no byte of a multi-byte character is ASCII, so the brackets
 * and quotes found are the real ones, and nothing is decoded twice.
 */
export function nestsDeeper(body: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
  }
  return false;
}

/**
 * Middleware: a JSON body nested deeper than `max` gets 400. The body is read
 * as bytes, which Hono keeps, so the routes after it parse the same bytes
 * (and the webhook intake verifies them) without another read.
 */
export function jsonDepthLimit(max: number): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.raw.body && /\bjson\b/i.test(c.req.header("Content-Type") ?? "")) {
      if (nestsDeeper(new Uint8Array(await c.req.arrayBuffer()), max)) {
        throw new Problem(400, "too-deep", "The JSON body nests too deeply", `it nests more than ${max} levels deep`);
      }
    }
    await next();
  };
}
