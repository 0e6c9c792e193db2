// One callback delivery: a POST of the ended job to its callbackUrl, signed
// as Standard Webhooks sign (so any of their libraries verifies it), from a
// fleet that may sit inside a private network. Any enqueue key can name the
// URL, so the worker refuses loopback, private, link-local, CGNAT,
// unique-local, multicast and unspecified addresses unless the operator
// allows them (EDGEQ_CALLBACK_ALLOW), checks the address it actually connects
// to (the vetted address is handed to the socket, so a second DNS answer
// cannot differ), and never follows a redirect.
import { createHmac } from "node:crypto";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { viewOf, type JobView } from "../shared/job.ts";
import type { Delivery } from "../shared/scripts/index.ts";

/** Addresses a callback may not reach unless allowed: everything that is not the public internet. */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata services
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128],
  ["fe80::", 10], // link-local
  ["fc00::", 7], // unique-local
  ["ff00::", 8], // multicast
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv6");
}

/** What the operator lets callbacks reach inside the network: host names, addresses and CIDRs. */
export class CallbackAllowlist {
  readonly #hosts = new Set<string>();
  readonly #addresses = new BlockList();

  /** `entries`: "receiver.internal", "10.1.2.3", "10.1.0.0/16", "::1" … */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split("/") as [string, string?];
      const family = isIP(address);
      if (family === 0) this.#hosts.add(entry.toLowerCase());
      else if (bits === undefined) this.#addresses.addAddress(address, family === 4 ? "ipv4" : "ipv6");
      else this.#addresses.addSubnet(address, Number(bits), family === 4 ? "ipv4" : "ipv6");
    }
  }

  /** Why `address` (reached for `host`) may not be called, or null when it may. */
  refusal(host: string, address: string): string | null {
    if (this.#hosts.has(host.toLowerCase())) return null;
    // an IPv4-mapped IPv6 address is the IPv4 address it maps
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const checked = mapped ?? address;
    const checkedFamily = isIP(checked) === 6 ? "ipv6" : "ipv4";
    if (!PRIVATE.check(checked, checkedFamily) || this.#addresses.check(checked, checkedFamily)) return null;
    return `${host} resolves to ${address}, a private, loopback or reserved address (see EDGEQ_CALLBACK_ALLOW)`;
  }
}

export interface CallbackOptions {
  allow: CallbackAllowlist;
  /** Standard Webhooks secret, whsec_<base64>; without one, callbacks go unsigned. */
  secret: string | null;
  timeoutMs: number;
}

/** How one attempt went: delivered, refused before any connection, or failed (and whether to try again). */
export type Attempt = { ok: true } | { ok: false; refused: boolean; retry: boolean; error: string };

/** The body a receiver gets: Standard Webhooks' { type, timestamp, data }, data being the job view. */
export function callbackBody(job: JobView, now: number): string {
  return JSON.stringify({ type: `job.${job.status}`, timestamp: new Date(now).toISOString(), data: job });
}

/** The webhook-* headers of Standard Webhooks: the signature covers "id.timestamp.body". */
export function signatureHeaders(id: string, body: string, secret: string | null, now: number): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const headers: Record<string, string> = { "webhook-id": id, "webhook-timestamp": timestamp };
  if (secret) {
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
    headers["webhook-signature"] = `v1,${signature}`;
  }
  return headers;
}

export async function deliver(delivery: Delivery, options: CallbackOptions, now = Date.now()): Promise<Attempt> {
  let url: URL;
  try {
    url = new URL(delivery.url);
  } catch {
    return { ok: false, refused: true, retry: false, error: `"${delivery.url}" is not a URL` };
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // an address literal never reaches the lookup below: check it here
  if (isIP(host)) {
    const refusal = options.allow.refusal(host, host);
    if (refusal) return { ok: false, refused: true, retry: false, error: refusal };
  }
  let refused: string | null = null;
  const vetted: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, found: LookupAddress[]) => {
      if (error) return callback(error, "", 4);
      const allowed = found.filter((a) => options.allow.refusal(hostname, a.address) === null);
      if (allowed.length === 0) {
        refused = options.allow.refusal(hostname, found[0]?.address ?? "") ?? `${hostname} has no address`;
        return callback(new Error(refused), "", 4);
      }
      // the socket connects to what was checked, never to a second answer
      if (lookupOptions.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
  const body = callbackBody(viewOf(delivery.job), now);
  const headers = {
    "content-type": "application/json",
    "user-agent": "edgeq-worker",
    ...signatureHeaders(delivery.id, body, options.secret, now),
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  try {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method: "POST", headers, lookup: vetted, timeout: options.timeoutMs }, resolve);
      req.once("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      req.once("error", reject);
      req.end(body);
    });
    response.resume();
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return { ok: true };
    if (status >= 300 && status < 400) {
      return {
        ok: false,
        refused: false,
        retry: false,
        error: `the receiver answered ${status}; redirects are not followed`,
      };
    }
    return { ok: false, refused: false, retry: true, error: `the receiver answered ${status}` };
  } catch (error) {
    if (refused) return { ok: false, refused: true, retry: false, error: refused };
    return { ok: false, refused: false, retry: true, error: (error as Error).message };
  }
}
