// Bad requests: each gets the right 4xx as problem+json and writes nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "../support/prefixes.ts";
import { call, expectProblem, jsonOf, KEYS, makeApp, snapshot, type Call } from "./support.ts";

const prefix = uniquePrefix("refusals");
const app = makeApp(prefix);
const admin = KEYS.admin;

interface Case extends Call {
  name: string;
  method: string;
  path: string;
  status: number;
  /** A field the problem's `errors` must name. */
  field?: string;
}

const enqueue = (body: unknown, extra: Partial<Case> = {}): Omit<Case, "name" | "status"> => ({
  method: "POST",
  path: "/v1/queues/refq/jobs",
  key: admin,
  body,
  ...extra,
});

// jobs to aim at: one in the browser key's queue, one outside it
const webJob = "web-job";
const otherJob = "other-job";

beforeAll(async () => {
  for (const [queue, id] of [
    ["web", webJob],
    ["refq", otherJob],
  ]) {
    await jsonOf(
      await call(app, "POST", `/v1/queues/${queue}/jobs`, { key: admin, body: { task: "t", options: { id } } }),
      201,
    );
  }
});

const cases: Case[] = [
  // bodies
  { name: "malformed JSON", ...enqueue('{"task": "echo",'), status: 400 },
  { name: "an empty body", ...enqueue(""), status: 400 },
  { name: "a JSON array instead of an object", ...enqueue([{ task: "echo" }]), status: 400 },
  { name: "a task of the wrong type", ...enqueue({ task: 42 }), status: 400, field: "task" },
  { name: "a missing task", ...enqueue({ args: {} }), status: 400, field: "task" },
  { name: "an unknown field", ...enqueue({ task: "echo", priority: 1 }), status: 400, field: "priority" },
  { name: "an unknown option", ...enqueue({ task: "echo", options: { ttl: 5 } }), status: 400, field: "options.ttl" },
  { name: "a bad task name", ...enqueue({ task: "rm -rf /" }), status: 400, field: "task" },
  {
    name: "a negative retry count",
    ...enqueue({ task: "echo", options: { retry: { max: -1 } } }),
    status: 400,
    field: "options.retry.max",
  },
  {
    name: "runAt and delayMs together",
    ...enqueue({ task: "echo", options: { runAt: 1, delayMs: 1 } }),
    status: 400,
    field: "options.delayMs",
  },
  {
    name: "a callbackUrl that is not http(s)",
    ...enqueue({ task: "echo", options: { callbackUrl: "javascript:alert(1)" } }),
    status: 400,
    field: "options.callbackUrl",
  },
  {
    name: "a dependency that does not exist",
    ...enqueue({ task: "echo", options: { dependsOn: ["nope"] } }),
    status: 400,
    field: "options.dependsOn",
  },
  {
    name: "args larger than the args limit",
    ...enqueue({ task: "echo", args: "x".repeat(600 * 1024) }),
    status: 400,
    field: "args",
  },
  {
    name: "a body larger than MAX_BODY_BYTES",
    ...enqueue({ task: "echo", args: "x".repeat(1100 * 1024) }),
    status: 413,
  },
  {
    name: "args nested 10 000 levels deep",
    ...enqueue(`{"task":"echo","args":${"[".repeat(10_000)}${"]".repeat(10_000)}}`),
    status: 400,
  },
  {
    name: "a batch nested 3 000 levels deep",
    ...enqueue(`{"jobs":[{"task":"echo","args":${'{"a":'.repeat(3_000)}1${"}".repeat(3_000)}}]}`, {
      path: "/v1/queues/refq/jobs/batch",
    }),
    status: 400,
  },
  { name: "no Content-Type", ...enqueue("{}", { headers: { "Content-Type": "" } }), status: 415 },
  {
    name: "a text/plain body",
    ...enqueue('{"task":"echo"}', { headers: { "Content-Type": "text/plain" } }),
    status: 415,
  },
  {
    name: "an Idempotency-Key with spaces",
    ...enqueue({ task: "echo" }, { headers: { "Idempotency-Key": "a b" } }),
    status: 400,
    field: "idempotency-key",
  },
  // batches
  {
    name: "an empty batch",
    method: "POST",
    path: "/v1/queues/refq/jobs/batch",
    key: admin,
    body: { jobs: [] },
    status: 400,
    field: "jobs",
  },
  {
    name: "a batch of 101",
    method: "POST",
    path: "/v1/queues/refq/jobs/batch",
    key: admin,
    body: { jobs: Array.from({ length: 101 }, () => ({ task: "t" })) },
    status: 400,
    field: "jobs",
  },
  {
    name: "a batch with one bad job",
    method: "POST",
    path: "/v1/queues/refq/jobs/batch",
    key: admin,
    body: { jobs: [{ task: "ok" }, { task: "" }] },
    status: 400,
    field: "jobs.1.task",
  },
  {
    name: "a batch naming one id twice",
    method: "POST",
    path: "/v1/queues/refq/jobs/batch",
    key: admin,
    body: {
      jobs: [
        { task: "a", options: { id: "dup" } },
        { task: "b", options: { id: "dup" } },
      ],
    },
    status: 400,
  },
  {
    name: "a batch taking a job id of the webhook intake",
    method: "POST",
    path: "/v1/queues/refq/jobs/batch",
    key: admin,
    body: { jobs: [{ task: "a", options: { id: "hook:stripe:evt_1" } }] },
    status: 400,
    field: "jobs.0.options.id",
  },
  // names and ids
  {
    name: "a queue name with a space",
    ...enqueue({ task: "echo" }, { path: "/v1/queues/bad%20queue/jobs" }),
    status: 400,
    field: "queue",
  },
  {
    name: "a queue name of 65 characters",
    ...enqueue({ task: "echo" }, { path: `/v1/queues/${"q".repeat(65)}/jobs` }),
    status: 400,
    field: "queue",
  },
  { name: "a job id with a slash", method: "GET", path: "/v1/jobs/a%2Fb", key: admin, status: 400, field: "id" },
  {
    name: "a job id of 129 characters",
    method: "GET",
    path: `/v1/jobs/${"i".repeat(129)}`,
    key: admin,
    status: 400,
    field: "id",
  },
  { name: "an unknown job", method: "GET", path: "/v1/jobs/no-such-job", key: admin, status: 404 },
  { name: "cancelling an unknown job", method: "DELETE", path: "/v1/jobs/no-such-job", key: admin, status: 404 },
  {
    name: "?wait over 25 s",
    method: "GET",
    path: `/v1/jobs/${otherJob}?wait=26`,
    key: admin,
    status: 400,
    field: "wait",
  },
  {
    name: "?wait that is not a number",
    method: "GET",
    path: `/v1/jobs/${otherJob}?wait=soon`,
    key: admin,
    status: 400,
    field: "wait",
  },
  { name: "an unknown route", method: "GET", path: "/v2/jobs", key: admin, status: 404 },
  // keys and scopes
  { name: "no API key", ...enqueue({ task: "echo" }, { key: undefined }), status: 401 },
  { name: "a wrong API key", ...enqueue({ task: "echo" }, { key: "not-a-key-0123456789abcdef0123" }), status: 401 },
  {
    name: "a key under another scheme",
    ...enqueue({ task: "echo" }, { headers: { Authorization: `Basic ${btoa(`x:${admin}`)}` } }),
    status: 401,
  },
  { name: "a read-only key enqueuing", ...enqueue({ task: "echo" }, { key: KEYS.reader }), status: 403 },
  { name: "an enqueue-only key reading", method: "GET", path: `/v1/jobs/${otherJob}`, key: KEYS.enqueuer, status: 403 },
  { name: "an enqueue-only key listing queues", method: "GET", path: "/v1/queues", key: KEYS.enqueuer, status: 403 },
  {
    name: "a browser key enqueuing to another queue",
    ...enqueue({ task: "echo" }, { key: KEYS.browser }),
    status: 403,
  },
  {
    name: "a browser key reading another queue",
    method: "GET",
    path: "/v1/queues/refq",
    key: KEYS.browser,
    status: 403,
  },
  {
    name: "a browser key reading a job of another queue",
    method: "GET",
    path: `/v1/jobs/${otherJob}`,
    key: KEYS.browser,
    status: 404,
  },
  {
    name: "a browser key cancelling its own queue's job",
    method: "DELETE",
    path: `/v1/jobs/${webJob}`,
    key: KEYS.browser,
    status: 403,
  },
  {
    name: "a browser key requeuing",
    method: "POST",
    path: `/v1/jobs/${webJob}/requeue`,
    key: KEYS.browser,
    status: 403,
  },
  {
    name: "a queue-limited admin cancelling another queue's job",
    method: "DELETE",
    path: `/v1/jobs/${otherJob}`,
    key: KEYS.webAdmin,
    status: 404,
  },
];

describe("refusals", () => {
  it.each(cases)("$name → $status", async (c) => {
    const before = await snapshot(app);
    const res = await call(app, c.method, c.path, c);
    const problem = await expectProblem(res, c.status);
    if (c.field) expect(problem.errors?.map((e) => e.field)).toContain(c.field);
    if (c.status === 401) expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
    expect(await snapshot(app)).toEqual(before);
  });

  it("tells an unknown job and one in another queue apart in no way", async () => {
    const hidden = await call(app, "GET", `/v1/jobs/${otherJob}`, { key: KEYS.browser });
    const missing = await call(app, "GET", "/v1/jobs/never-was", { key: KEYS.browser });
    const [a, b] = [await expectProblem(hidden, 404), await expectProblem(missing, 404)];
    expect({ ...a, detail: undefined }).toEqual({ ...b, detail: undefined });
  });
});
