// Random and hostile requests at the whole app, with valid and invalid keys:
// whatever comes in, the answer is 2xx or 4xx, never 5xx; every error is
// problem+json; and a refusal writes nothing. Each part of a request is mostly
// what a client of that route would send and sometimes hostile, so that runs
// get past authentication and validation into the routes themselves.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "../support/prefixes.ts";
import { API_KEYS, call, jsonOf, KEYS, makeApp, redis, snapshot } from "./support.ts";

const LIMITED = "property-limited-key-0123456789abcdef";
const HOOK_SECRET = "property-hook-secret";
const SEED_JOB = "seed-job";

const prefix = uniquePrefix("property");
const app = makeApp(prefix, {
  apiKeys: [
    ...API_KEYS,
    {
      name: "limited",
      key: LIMITED,
      scopes: ["enqueue", "read"],
      queues: ["web"],
      rateLimit: { requests: 10, perSec: 86_400 },
      callbackOrigins: ["https://hooks.example"],
      maxTimeoutMs: 1_000,
      maxRetries: 1,
      maxDelaySec: 60,
    },
  ],
  hooks: {
    fz: { queue: "web", task: "fz.event", scheme: "hmac", secret: HOOK_SECRET },
    std: { queue: "web", task: "std.event", scheme: "standard", secret: `whsec_${btoa("property-standard-key")}` },
  },
  maxBodyBytes: 64 * 1024,
});

const ascii = (maxLength: number) => fc.string({ unit: "grapheme-ascii", maxLength });
const anyText = (maxLength: number) => fc.string({ unit: "binary", maxLength });

/** Mostly what a client means to send (six times in seven), else one of the hostile choices. */
function mostly<T>(meant: fc.Arbitrary<T>, ...hostile: fc.Arbitrary<T>[]): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: meant, weight: 6 * hostile.length }, ...hostile);
}

const hostileSegment = fc.oneof(
  fc.constantFrom("hook:fz:x", "constructor", "__proto__", "..", "%2F", "%00", "%ZZ", "%", "%E0%A4%A", "a%20b"),
  fc.constantFrom("a".repeat(300), "q".repeat(65), "a:b", ""),
  anyText(40).map(encodeURIComponent),
  ascii(40).map((s) => s.replace(/[/?#]/g, "")),
);
const queueName = mostly(fc.constantFrom("web", "refq"), hostileSegment);
const jobId = mostly(fc.constant(SEED_JOB), hostileSegment);
const hookName = mostly(fc.constantFrom("fz", "std"), hostileSegment);

const epochSoon = fc.nat({ max: 120_000 }).map((ms) => Date.now() + ms);
const jobOptions = fc.record(
  {
    id: mostly(fc.uuid(), fc.constantFrom(SEED_JOB, "hook:fz:abc", "a/b"), ascii(20)),
    timeoutMs: mostly(fc.integer({ min: 1, max: 2_000 }), fc.integer(), fc.double()),
    retry: fc.record({ max: mostly(fc.nat({ max: 2 }), fc.integer({ min: -5, max: 200 })) }),
    runAt: mostly<number | string>(
      epochSoon,
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      ascii(30),
    ),
    delayMs: mostly(fc.nat({ max: 120_000 }), fc.integer()),
    dependsOn: fc.array(mostly(fc.constant(SEED_JOB), ascii(10)), { maxLength: 2 }),
    callbackUrl: mostly(fc.constant("https://hooks.example/done"), fc.webUrl(), fc.constant("javascript:alert(1)")),
    meta: fc.dictionary(ascii(10), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);
const jobRequest = fc.record(
  { task: mostly(fc.constantFrom("echo", "t"), ascii(20)), args: fc.jsonValue({ maxDepth: 4 }), options: jobOptions },
  { requiredKeys: ["task"] },
);

type Body = string | Uint8Array<ArrayBuffer> | null;
const hostileBody = fc.oneof<fc.Arbitrary<Body>[]>(
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  anyText(300),
  fc.uint8Array({ maxLength: 300 }),
  fc.constant("x".repeat(70 * 1024)),
);

// written out as text: building it as an object would overflow the test's own stack
const deepBody = fc
  .noBias(fc.integer({ min: 1, max: 20_000 }))
  .map((depth) => `{"task":"t","args":${"[".repeat(depth)}${"]".repeat(depth)}}`);

/** Each route with what its client sends: method, path and body. */
const ENDPOINTS: fc.Arbitrary<{ method: string; path: string; body: Body }>[] = [
  fc.record({
    method: fc.constant("POST"),
    path: queueName.map((q) => `/v1/queues/${q}/jobs`),
    // deep bodies twice as often as other hostile ones: a few thousand brackets once took the stack down
    body: mostly<Body>(
      jobRequest.map((j) => JSON.stringify(j)),
      hostileBody,
      deepBody,
      deepBody,
    ),
  }),
  fc.record({
    method: fc.constant("POST"),
    path: queueName.map((q) => `/v1/queues/${q}/jobs/batch`),
    body: mostly<Body>(
      fc.array(jobRequest, { minLength: 1, maxLength: 4 }).map((jobs) => JSON.stringify({ jobs })),
      hostileBody,
      deepBody.map((job) => `{"jobs":[${job}]}`),
      deepBody.map((job) => `{"jobs":[${job}]}`),
    ),
  }),
  fc.record({
    method: fc.constant("POST"),
    path: hookName.map((h) => `/v1/hooks/${h}`),
    body: mostly<Body>(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      hostileBody,
      deepBody,
      deepBody,
    ),
  }),
  ...(
    [
      ["GET", (id: string) => `/v1/jobs/${id}`],
      ["GET", (id: string) => `/v1/jobs/${id}/events`],
      ["DELETE", (id: string) => `/v1/jobs/${id}`],
      ["POST", (id: string) => `/v1/jobs/${id}/requeue`],
    ] as const
  ).map(([method, route]) => fc.record({ method: fc.constant(method), path: jobId.map(route), body: hostileBody })),
  fc.record({ method: fc.constant("GET"), path: queueName.map((q) => `/v1/queues/${q}`), body: hostileBody }),
  fc.record({
    method: fc.constant("GET"),
    path: fc.constantFrom("/v1/queues", "/healthz", "/openapi.json"),
    body: hostileBody,
  }),
  fc.record({ method: fc.constant("GET"), path: hostileSegment.map((s) => `/${s}`), body: hostileBody }),
];

const QUERIES = ["?wait=soon", "?wait=-1", "?wait=26", "?wait=0", "?wait=1e999", "?wait=0.05", "?wait=%ZZ", "?a=b"];

const request = fc.record({
  // enqueues and deliveries first: they have the most to get wrong
  endpoint: fc.oneof(...ENDPOINTS.map((arbitrary, i) => ({ arbitrary, weight: i < 3 ? 3 : 1 }))),
  otherMethod: mostly(fc.constant(null), fc.constantFrom("GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD")),
  query: mostly(fc.constant(""), fc.constantFrom(...QUERIES)),
  authorization: mostly(
    fc.constantFrom(...Object.values(KEYS), LIMITED).map((key) => `Bearer ${key}`),
    fc.constant(null),
    fc.constantFrom("Bearer", "Bearer ", "Basic YTpi", `bearer ${KEYS.admin}`, `Bearer   ${KEYS.admin}  `),
    fc.constantFrom(`Bearer ${KEYS.admin}x`, `Bearer ${KEYS.admin.slice(1)}`, `Bearer ${KEYS.admin},${KEYS.reader}`),
    ascii(60).map((s) => `Bearer ${s}`),
    ascii(60),
  ),
  contentType: mostly(
    fc.constant("application/json"),
    fc.constant(null),
    fc.constantFrom("application/json; charset=utf-8", "text/plain", "application/problem+json", ""),
    fc.constantFrom("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json;;"),
    ascii(40),
  ),
  headers: fc.dictionary(
    fc.constantFrom("Idempotency-Key", "Last-Event-ID", "X-Request-Id", "Origin", "webhook-id", "webhook-timestamp"),
    ascii(80),
    { maxKeys: 2 },
  ),
  // as the hmac hook's sender signs: past the signature lie the intake's own paths
  signed: mostly(fc.constant(true), fc.constant(false)),
});

async function hmacHex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(HOOK_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What a request could have written: every key of the deployment (but the request counters) with a digest of its
 * value, read in one script call so that it is one consistent picture, and the counts the API reports.
 */
async function state(): Promise<unknown> {
  const digests = await redis.eval(
    `local out, cursor = {}, '0'
    repeat
      local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
      cursor = page[1]
      for _, key in ipairs(page[2]) do
        -- a refused request still counts against its key's limit: that is what the limit is for
        if not string.find(key, ':requests:', 1, true) then
          table.insert(out, key .. ' ' .. redis.sha1hex(redis.call('DUMP', key) or ''))
        end
      end
    until cursor == '0'
    table.sort(out)
    return out`,
    [],
    [`{${prefix}}:*`],
  );
  return { digests, queues: await snapshot(app) };
}

/**
 * Reads an event stream to its end. Its job is canceled first, so the stream
 * ends at its next poll instead of polling on after the test.
 */
async function drain(path: string, res: Response): Promise<void> {
  const job = /^\/v1\/jobs\/([^/?]*)\/events/.exec(path)![1]!;
  await call(app, "DELETE", `/v1/jobs/${job}`, { key: KEYS.admin });
  await res.text();
}

beforeAll(async () => {
  await jsonOf(
    await call(app, "POST", "/v1/queues/web/jobs", { key: KEYS.admin, body: { task: "t", options: { id: SEED_JOB } } }),
    201,
  );
});

describe("hostile requests", () => {
  it("are answered 2xx or 4xx, errors as problem+json, and refusals write nothing", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const method = r.otherMethod ?? r.endpoint.method;
        const path = `${r.endpoint.path}${r.query}`;
        const headers = new Headers(r.headers);
        if (r.authorization !== null) headers.set("Authorization", r.authorization);
        if (r.contentType !== null) headers.set("Content-Type", r.contentType);
        const { body } = r.endpoint;
        const bytes =
          body === null || method === "GET" || method === "HEAD"
            ? null
            : typeof body === "string"
              ? new TextEncoder().encode(body)
              : body;
        if (bytes && r.signed) headers.set("x-signature", await hmacHex(bytes));

        const before = await state();
        const res = await app.request(`http://edge.test${path}`, { method, headers, body: bytes });
        const where = `${method} ${path} → ${res.status}`;
        expect(res.status, where).toBeGreaterThanOrEqual(200);
        expect(res.status, where).toBeLessThan(500);
        if (res.headers.get("content-type")?.startsWith("text/event-stream")) return drain(path, res);
        const text = await res.text();
        if (res.status < 400) return;
        expect(res.headers.get("content-type"), where).toBe("application/problem+json");
        if (method !== "HEAD") {
          expect(JSON.parse(text), where).toMatchObject({ type: expect.any(String), status: res.status });
        }
        expect(await state(), where).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });
});
