// Webhook signatures, checked with WebCrypto on the raw body exactly as each
// sender signs it. A delivery passes only with a valid HMAC from one of the
// hook's secrets and, where the scheme signs a timestamp, a fresh one. A value
// the signature covers then names the job, so a redelivery finds the same job
// and a replay cannot pass for a new delivery: a header the sender does not
// sign (X-GitHub-Delivery, X-Delivery-Id) can be changed by anyone.
import { DEFAULTS } from "../shared/defaults.ts";
import { JOB_ID } from "../shared/names.ts";
import type { HookConfig } from "./config.ts";
import { bytes, fromBase64, fromHex, hmacSha256, sha256, timingSafeEqual, toHex } from "./crypto.ts";
import { Problem } from "./problem.ts";

/** Headers worth keeping in the job: what the event is, never signatures. */
const KEPT_HEADERS = [
  "content-type",
  "user-agent",
  "webhook-id",
  "webhook-timestamp",
  "x-github-event",
  "x-github-delivery",
  "x-github-hook-id",
  "x-github-hook-installation-target-id",
  "x-github-hook-installation-target-type",
  "x-delivery-id",
  "x-event-type",
];

/** The job id prefix of webhook deliveries, which API keys may not take (edge/policy.ts). */
export const HOOK_JOB_PREFIX = "hook:";

export interface Verified {
  /** A signed value naming this delivery: the sender's signed id, else a digest of the signed body. */
  delivery: string;
}

/** Checks a delivery's signature; throws a 401 Problem saying what failed. */
export async function verifyDelivery(
  hook: HookConfig,
  headers: Headers,
  body: Uint8Array<ArrayBuffer>,
  now: number = Date.now(),
): Promise<Verified> {
  const secrets = typeof hook.secret === "string" ? [hook.secret] : hook.secret;
  const tolerance = hook.toleranceSec ?? DEFAULTS.hookToleranceSec;
  switch (hook.scheme) {
    case "standard": {
      // Standard Webhooks: v1,<base64 HMAC of "id.timestamp.body">, space-separated.
      const id = required(headers, "webhook-id");
      const timestamp = fresh(required(headers, "webhook-timestamp"), now, tolerance);
      const signatures = required(headers, "webhook-signature")
        .split(" ")
        .flatMap((s) => (s.startsWith("v1,") ? [fromBase64(s.slice(3))] : []));
      const keys = secrets.map((s) => fromBase64(s.replace(/^whsec_/, "")) ?? bytes(""));
      await check(keys, concat(bytes(`${id}.${timestamp}.`), body), signatures);
      return { delivery: id };
    }
    case "github": {
      const signature = required(headers, "x-hub-signature-256");
      await check(secrets.map(bytes), body, [signature.startsWith("sha256=") ? fromHex(signature.slice(7)) : null]);
      return { delivery: await bodyDigest(body) };
    }
    case "stripe": {
      // t=<seconds>,v1=<hex>[,v1=<hex>…]; the secret is used as-is, whsec_ and all.
      const fields = required(headers, "stripe-signature")
        .split(",")
        .map((part) => part.trim().split("=", 2) as [string, string?]);
      const t = fields.find(([k]) => k === "t")?.[1];
      if (!t) throw invalid('the Stripe-Signature header has no "t=" timestamp');
      const timestamp = fresh(t, now, tolerance);
      const signatures = fields.filter(([k]) => k === "v1").map(([, v]) => fromHex(v ?? ""));
      await check(secrets.map(bytes), concat(bytes(`${timestamp}.`), body), signatures);
      return { delivery: stripeEventId(body) ?? (await bodyDigest(body)) };
    }
    case "hmac": {
      const signature = required(headers, "x-signature");
      await check(secrets.map(bytes), body, [fromHex(signature.replace(/^sha256=/, ""))]);
      return { delivery: await bodyDigest(body) };
    }
  }
}

/**
 * The job id of a delivery: readable when the delivery id fits the id
 * pattern, else a digest of it, so any sender's ids map to one job each.
 */
export async function deliveryJobId(hookName: string, delivery: string): Promise<string> {
  const readable = `${HOOK_JOB_PREFIX}${hookName}:${delivery}`;
  if (JOB_ID.test(readable)) return readable;
  return `${HOOK_JOB_PREFIX}${hookName}:h-${toHex(await sha256(delivery)).slice(0, 40)}`;
}

/**
 * How long a delivery is remembered after it was accepted. Where the scheme
 * signs a timestamp, a replay passes for `toleranceSec` either side of it, so
 * twice that covers every moment it could pass; where it signs none, only this
 * memory stands between a captured delivery and a second run.
 */
export function replayWindowSec(hook: HookConfig): number {
  const tolerance = hook.toleranceSec ?? DEFAULTS.hookToleranceSec;
  return Math.max(hook.replayWindowSec ?? DEFAULTS.hookReplayWindowSec, 2 * tolerance);
}

/** The job's args: the headers that say what happened, and the body as JSON when it is JSON. */
export function deliveryArgs(headers: Headers, body: Uint8Array): { headers: Record<string, string>; body: unknown } {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers.get(name);
    if (value !== null) kept[name] = value;
  }
  const text = new TextDecoder().decode(body);
  let parsed: unknown = text;
  if (/\bjson\b/i.test(headers.get("content-type") ?? "")) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // signed by the sender, so kept as sent even when it is not valid JSON
    }
  }
  return { headers: kept, body: parsed };
}

function invalid(detail: string): Problem {
  return new Problem(401, "invalid-signature", "The webhook signature is not valid", detail);
}

function required(headers: Headers, name: string): string {
  const value = headers.get(name);
  if (!value) throw invalid(`the ${name} header is missing`);
  return value;
}

/** The timestamp, checked to be within `tolerance` seconds of now either way. */
function fresh(text: string, now: number, tolerance: number): string {
  const seconds = /^\d{1,12}$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(seconds)) throw invalid("the signature timestamp is not a number of seconds");
  if (Math.abs(now / 1000 - seconds) > tolerance) {
    throw invalid(`the signature timestamp is more than ${tolerance} s away from now (a replay, or a skewed clock)`);
  }
  return text;
}

async function check(
  keys: Uint8Array<ArrayBuffer>[],
  message: Uint8Array<ArrayBuffer>,
  signatures: (Uint8Array | null)[],
): Promise<void> {
  const given = signatures.filter((s): s is Uint8Array => s !== null);
  if (given.length === 0) throw invalid("no signature in a recognized format");
  for (const key of keys) {
    if (key.byteLength === 0) continue;
    const expected = await hmacSha256(key, message);
    if (given.some((signature) => timingSafeEqual(signature, expected))) return;
  }
  throw invalid("the signature does not match the body");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

async function bodyDigest(body: Uint8Array<ArrayBuffer>): Promise<string> {
  return `sha256-${toHex(await sha256(body))}`;
}

function stripeEventId(body: Uint8Array): string | null {
  try {
    const event = JSON.parse(new TextDecoder().decode(body)) as { id?: unknown };
    return typeof event.id === "string" && event.id ? event.id : null;
  } catch {
    return null;
  }
}
