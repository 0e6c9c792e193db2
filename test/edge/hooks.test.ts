// Webhook intake: each scheme's signature, signed here the way each sender
// signs, independently of the edge's own code.
import { describe, expect, it } from "vitest";
import type { HookConfig } from "../../edge/config.ts";
import { Keys } from "../../shared/index.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { call, expectProblem, finish, jsonOf, KEYS, makeApp, queue, redis, start } from "./support.ts";

const STANDARD_KEY = "standard-webhooks-key-0123456789";
const SECRETS = {
  standard: `whsec_${btoa(STANDARD_KEY)}`,
  github: "github-secret",
  stripe: "whsec_stripe-signing-secret",
  hmac: "plain-hmac-secret",
};

const HOOKS: Record<string, HookConfig> = {
  std: { queue: "hooks", task: "standard.event", scheme: "standard", secret: SECRETS.standard },
  // a rotation in progress: the old secret still passes
  gh: { queue: "hooks", task: "github.push", scheme: "github", secret: ["github-old-secret", SECRETS.github] },
  // one group per repository, so that one busy repository cannot hold up the others
  "gh-repos": {
    queue: "repos",
    task: "github.push",
    scheme: "github",
    secret: SECRETS.github,
    group: "repository.full_name",
  },
  stripe: { queue: "hooks", task: "stripe.event", scheme: "stripe", secret: SECRETS.stripe, toleranceSec: 60 },
  plain: { queue: "hooks", task: "plain.event", scheme: "hmac", secret: SECRETS.hmac },
  // the replay tests run their jobs to the end, so they have a queue of their own
  "std-once": { queue: "once", task: "standard.event", scheme: "standard", secret: SECRETS.standard },
  "stripe-once": { queue: "once", task: "stripe.event", scheme: "stripe", secret: SECRETS.stripe },
  // a replay window shorter than the tolerance allows
  brief: { queue: "once", task: "standard.event", scheme: "standard", secret: SECRETS.standard, replayWindowSec: 60 },
};

const prefix = uniquePrefix("hooks");
const app = makeApp(prefix, { hooks: HOOKS });
const hooksQueue = queue(prefix, "hooks");

async function hmac(key: string, message: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(message)));
}
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const nowSec = () => Math.floor(Date.now() / 1000);

/** Signed deliveries, one builder per scheme; `secret` and `at` let a test forge or age one. */
const sign = {
  async standard(body: string, { id = "msg_1", at = nowSec(), key = STANDARD_KEY } = {}) {
    const sig = b64(await hmac(key, `${id}.${at}.${body}`));
    return { "webhook-id": id, "webhook-timestamp": String(at), "webhook-signature": `v1,${sig}` };
  },
  async github(body: string, { delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958", secret = SECRETS.github } = {}) {
    return {
      "x-hub-signature-256": `sha256=${hex(await hmac(secret, body))}`,
      "x-github-delivery": delivery,
      "x-github-event": "push",
    };
  },
  async stripe(body: string, { at = nowSec(), secret = SECRETS.stripe } = {}) {
    // two v1 entries, as during Stripe's own secret rolls: one matching is enough
    const wrong = hex(await hmac("rolled-away", `${at}.${body}`));
    return { "stripe-signature": `t=${at},v1=${wrong},v1=${hex(await hmac(secret, `${at}.${body}`))}` };
  },
  async hmac(body: string, { secret = SECRETS.hmac, prefixed = true } = {}) {
    const sig = hex(await hmac(secret, body));
    return { "x-signature": prefixed ? `sha256=${sig}` : sig };
  },
};

function deliver(hook: string, body: string, headers: Record<string, string>, contentType = "application/json") {
  return call(app, "POST", `/v1/hooks/${hook}`, { body, headers: { "Content-Type": contentType, ...headers } });
}

async function jobOf(id: string) {
  return jsonOf(await call(app, "GET", `/v1/jobs/${encodeURIComponent(id)}`, { key: KEYS.admin }), 200);
}

describe("signed deliveries", () => {
  it("standard: verified, enqueued with the body and the event's headers, 202", async () => {
    const body = JSON.stringify({ type: "invoice.paid", data: { n: 1 } });
    const res = await deliver("std", body, await sign.standard(body, { id: "msg_std_1" }));
    const { id, status } = await jsonOf<{ id: string; status: string }>(res, 202);
    expect(status).toBe("queued");
    expect(id).toBe("hook:std:msg_std_1");
    const job = await jobOf(id);
    expect(job).toMatchObject({ queue: "hooks", task: "standard.event", meta: { hook: "std", delivery: "msg_std_1" } });
    expect(job.args).toEqual({
      headers: {
        "content-type": "application/json",
        "webhook-id": "msg_std_1",
        "webhook-timestamp": expect.any(String),
      },
      body: { type: "invoice.paid", data: { n: 1 } },
    });
  });

  it("github: verified with either secret of a rotation", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main" });
    const res = await deliver("gh", body, await sign.github(body, { delivery: "gh-1", secret: "github-old-secret" }));
    const { id } = await jsonOf<{ id: string }>(res, 202);
    const job = await jobOf(id);
    expect(job).toMatchObject({
      task: "github.push",
      args: { body: { ref: "refs/heads/main" }, headers: { "x-github-event": "push" } },
    });
    expect(JSON.stringify(job.args)).not.toContain("sha256=");
  });

  it("stripe: verified against any v1 signature, deduped by the event id", async () => {
    const body = JSON.stringify({ id: "evt_123", type: "charge.succeeded" });
    const { id } = await jsonOf<{ id: string }>(await deliver("stripe", body, await sign.stripe(body)), 202);
    expect(id).toBe("hook:stripe:evt_123");
    expect((await jobOf(id)).args).toMatchObject({ body: { id: "evt_123" } });
  });

  it("hmac: hex with or without sha256=, deduped by a digest of the body when there is no delivery id", async () => {
    const body = "name=value&x=1";
    const first = await jsonOf<{ id: string }>(
      await deliver("plain", body, await sign.hmac(body), "application/x-www-form-urlencoded"),
      202,
    );
    expect(first.id).toMatch(/^hook:plain:/);
    expect((await jobOf(first.id)).args).toMatchObject({ body: "name=value&x=1" });
    const again = await jsonOf<{ id: string }>(
      await deliver("plain", body, await sign.hmac(body, { prefixed: false }), "text/plain"),
      202,
    );
    expect(again.id).toBe(first.id);
  });

  it("a redelivery answers 202 with the same job and enqueues nothing more", async () => {
    const body = JSON.stringify({ ref: "refs/heads/dev" });
    const headers = await sign.github(body, { delivery: "gh-redelivered" });
    const first = await jsonOf<{ id: string }>(await deliver("gh", body, headers), 202);
    const before = await hooksQueue.counts();
    const second = await jsonOf<{ id: string }>(await deliver("gh", body, headers), 202);
    expect(second.id).toBe(first.id);
    expect(await hooksQueue.counts()).toEqual(before);
  });

  it("puts a delivery into the group its body names at the hook's path, in the id alphabet", async () => {
    const body = JSON.stringify({ repository: { full_name: "acme/web app" } });
    const res = await deliver("gh-repos", body, await sign.github(body, { delivery: "gh-group-1" }));
    expect(await jobOf((await jsonOf<{ id: string }>(res, 202)).id)).toMatchObject({ group: "acme_web_app" });
    // a body without the path, or with an object there, makes a job without a group
    for (const [n, payload] of [{}, { repository: { full_name: { x: 1 } } }, { repository: "flat" }].entries()) {
      const text = JSON.stringify(payload);
      const sent = await deliver("gh-repos", text, await sign.github(text, { delivery: `gh-group-none-${n}` }));
      expect(await jobOf((await jsonOf<{ id: string }>(sent, 202)).id)).toMatchObject({ group: null });
    }
  });

  it("maps a delivery id that does not fit the id pattern to a stable digest", async () => {
    const body = JSON.stringify({ odd: true });
    const headers = await sign.standard(body, { id: "msg with spaces/and slashes" });
    const first = await jsonOf<{ id: string }>(await deliver("std", body, headers), 202);
    expect(first.id).toMatch(/^hook:std:h-[0-9a-f]{40}$/);
    expect((await jsonOf<{ id: string }>(await deliver("std", body, headers), 202)).id).toBe(first.id);
  });
});

describe("replays", () => {
  const keys = Keys.forPrefix(prefix);
  const onceQueue = queue(prefix, "once");

  /** Runs a delivery's job to the end and lets it go, as its result TTL would. */
  async function expire(id: string) {
    await start(prefix, "once", id);
    await finish(prefix, id, null);
    await redis.del(keys.job(id));
  }

  it("github: a captured delivery sent again under a fresh X-GitHub-Delivery runs once", async () => {
    const body = JSON.stringify({ ref: "refs/heads/replayed", after: "c0ffee" });
    const first = await jsonOf<{ id: string }>(
      await deliver("gh", body, await sign.github(body, { delivery: "a" })),
      202,
    );
    const before = await hooksQueue.counts();
    // X-GitHub-Delivery is not signed: anyone holding the delivery can change it
    const replay = await deliver("gh", body, await sign.github(body, { delivery: "b" }));
    expect(await jsonOf(replay, 202)).toEqual({ id: first.id, status: "queued" });
    expect(await hooksQueue.counts()).toEqual(before);
  });

  it("hmac: a captured delivery sent again under a fresh X-Delivery-Id runs once", async () => {
    const body = JSON.stringify({ event: "order.paid", order: 77 });
    const signed = await sign.hmac(body);
    const first = await jsonOf<{ id: string }>(
      await deliver("plain", body, { ...signed, "x-delivery-id": "d-1" }),
      202,
    );
    const before = await hooksQueue.counts();
    const replay = await deliver("plain", body, { ...signed, "x-delivery-id": "d-2" });
    expect((await jsonOf<{ id: string }>(replay, 202)).id).toBe(first.id);
    expect(await hooksQueue.counts()).toEqual(before);
  });

  it("standard: a replay within the tolerance is not run again after its job is gone", async () => {
    const body = JSON.stringify({ type: "invoice.paid", n: 9 });
    const headers = await sign.standard(body, { id: "msg_replayed" });
    const { id } = await jsonOf<{ id: string }>(await deliver("std-once", body, headers), 202);
    await expire(id);
    const before = await onceQueue.counts();
    expect(await jsonOf(await deliver("std-once", body, headers), 202)).toEqual({ id, status: null });
    expect(await onceQueue.counts()).toEqual(before);
    expect(await onceQueue.getJob(id)).toBeNull();
  });

  it("stripe: a replay of the signed event is not run again after its job is gone", async () => {
    const body = JSON.stringify({ id: "evt_replayed", type: "charge.succeeded" });
    const headers = await sign.stripe(body);
    const { id } = await jsonOf<{ id: string }>(await deliver("stripe-once", body, headers), 202);
    await expire(id);
    const before = await onceQueue.counts();
    expect(await jsonOf(await deliver("stripe-once", body, headers), 202)).toEqual({ id, status: null });
    expect(await onceQueue.counts()).toEqual(before);
    expect(await onceQueue.getJob(id)).toBeNull();
  });

  it("remembers a delivery for the replay window, and never for less than twice the tolerance", async () => {
    const body = JSON.stringify({ n: "windows" });
    const std = await jsonOf<{ id: string }>(await deliver("std", body, await sign.standard(body, { id: "w1" })), 202);
    const brief = await jsonOf<{ id: string }>(
      await deliver("brief", body, await sign.standard(body, { id: "w1" })),
      202,
    );
    // std: the default window, a day; brief: 60 s asked, but a timestamp passes for 300 s either way
    expect(await redis.ttl(keys.seenDelivery(std.id))).toBeGreaterThan(86_400 - 5);
    expect(await redis.ttl(keys.seenDelivery(brief.id))).toBeGreaterThan(600 - 5);
    expect(await redis.ttl(keys.seenDelivery(brief.id))).toBeLessThanOrEqual(600);
  });
});

describe("refused deliveries write nothing", () => {
  const body = JSON.stringify({ id: "evt_refused", amount: 5 });
  const cases: {
    name: string;
    hook: string;
    headers: () => Promise<Record<string, string>>;
    send?: string;
    status: number;
  }[] = [
    {
      name: "standard, signed with another key",
      hook: "std",
      headers: () => sign.standard(body, { key: "not-the-key-at-all-0123456789" }),
      status: 401,
    },
    {
      name: "standard, a stale timestamp",
      hook: "std",
      headers: () => sign.standard(body, { at: nowSec() - 301 }),
      status: 401,
    },
    {
      name: "standard, a timestamp from the future",
      hook: "std",
      headers: () => sign.standard(body, { at: nowSec() + 301 }),
      status: 401,
    },
    {
      name: "standard, no signature",
      hook: "std",
      headers: async () => ({ "webhook-id": "m", "webhook-timestamp": String(nowSec()) }),
      status: 401,
    },
    { name: "github, forged", hook: "gh", headers: () => sign.github(body, { secret: "guess" }), status: 401 },
    {
      name: "github, body changed after signing",
      hook: "gh",
      headers: () => sign.github(body),
      send: body.replace("5", "500"),
      status: 401,
    },
    {
      name: "github, signature not hex",
      hook: "gh",
      headers: async () => ({ "x-hub-signature-256": "sha256=zz" }),
      status: 401,
    },
    { name: "github, no signature", hook: "gh", headers: async () => ({ "x-github-delivery": "d" }), status: 401 },
    {
      name: "stripe, forged",
      hook: "stripe",
      headers: () => sign.stripe(body, { secret: "whsec_guess" }),
      status: 401,
    },
    {
      name: "stripe, stale (tolerance 60 s)",
      hook: "stripe",
      headers: () => sign.stripe(body, { at: nowSec() - 61 }),
      status: 401,
    },
    {
      name: "stripe, no timestamp",
      hook: "stripe",
      headers: async () => ({ "stripe-signature": "v1=abcd" }),
      status: 401,
    },
    { name: "hmac, forged", hook: "plain", headers: () => sign.hmac(body, { secret: "guess" }), status: 401 },
    { name: "an unknown hook", hook: "nope", headers: () => sign.hmac(body), status: 404 },
    { name: "a hook named after an Object property", hook: "constructor", headers: () => sign.hmac(body), status: 404 },
  ];

  it.each(cases)("$name → $status", async ({ hook, headers, send, status }) => {
    const before = await hooksQueue.counts();
    const problem = await expectProblem(await deliver(hook, send ?? body, await headers()), status);
    if (status === 401) expect(problem.type).toBe("urn:edgeq:problem:invalid-signature");
    expect(await hooksQueue.counts()).toEqual(before);
  });
});
