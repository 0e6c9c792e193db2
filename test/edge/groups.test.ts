// Flow control over HTTP, inside workerd: the group listing and one group's
// policy, the queue's default policy, enqueues answered by debounce and
// dedupe keys, and keys whose policy forces a group or forbids the options.
// Every refusal names its field and writes nothing.
import { describe, expect, it } from "vitest";
import type { ApiKeyConfig } from "../../edge/config.ts";
import { uniquePrefix } from "../support/prefixes.ts";
import { API_KEYS, call, expectProblem, jsonOf, KEYS, makeApp, queue, snapshot } from "./support.ts";

const TENANT = "tenant-key-0123456789abcdef0123456789";
const PLAIN = "plain-key-0123456789abcdef01234567890";

const apiKeys: ApiKeyConfig[] = [
  ...API_KEYS,
  { name: "acme", key: TENANT, scopes: ["enqueue", "read"], queues: ["web"], group: true },
  { name: "plain", key: PLAIN, scopes: ["enqueue"], queues: ["web"], forbid: ["debounce", "dedupe"] },
];

const prefix = uniquePrefix("groups");
const app = makeApp(prefix, { apiKeys });
const admin = { key: KEYS.admin };

type Listing = {
  groups: { name: string; waiting: number; started: number; policy: object; effective: object }[];
  total: number;
  nextCursor: string | null;
  ungrouped?: { waiting: number; started: number };
  default?: object;
};

const enqueue = (queueName: string, body: object, key: string = KEYS.admin) =>
  call(app, "POST", `/v1/queues/${queueName}/jobs`, { key, body });

describe("groups over HTTP", () => {
  it("lists a queue's groups most loaded first, in pages, with the jobs without a group", async () => {
    const q = queue(prefix, "listed");
    await q.enqueueMany([
      ...Array.from({ length: 3 }, () => ({ task: "t", options: { group: "big" } })),
      { task: "t", options: { group: "small" } },
      { task: "t" },
    ]);
    const first = await jsonOf<Listing>(await call(app, "GET", "/v1/queues/listed/groups?limit=1", admin), 200);
    expect(first.groups).toEqual([{ name: "big", waiting: 3, started: 0, policy: {}, effective: {} }]);
    expect(first).toMatchObject({ total: 2, ungrouped: { waiting: 1, started: 0 }, default: {} });
    const next = `/v1/queues/listed/groups?limit=1&cursor=${first.nextCursor}`;
    const second = await jsonOf<Listing>(await call(app, "GET", next, { key: KEYS.reader }), 200);
    expect(second.groups.map((g) => g.name)).toEqual(["small"]);
    expect(second.ungrouped).toBeUndefined();
    const job = await jsonOf(await enqueue("listed", { task: "t", options: { group: "small" } }), 201);
    expect(job.group).toBe("small");
  });

  it("gives one group its own policy over the queue's default, and pauses it", async () => {
    const patched = await call(app, "PATCH", "/v1/queues/web/groups/vip", {
      ...admin,
      body: { concurrency: 8, limit: { max: 100, perMs: 1_000 } },
    });
    await call(app, "PATCH", "/v1/queues/web", { ...admin, body: { groups: { concurrency: 2 } } });
    expect(await jsonOf(patched, 200)).toEqual({
      group: "vip",
      policy: { concurrency: 8, limit: { max: 100, perMs: 1_000 } },
      effective: { concurrency: 8, limit: { max: 100, perMs: 1_000 } },
    });
    const paused = await call(app, "PATCH", "/v1/queues/web/groups/vip", {
      ...admin,
      body: { paused: true, concurrency: null },
    });
    expect(await jsonOf(paused, 200)).toMatchObject({
      policy: { paused: true, limit: { max: 100, perMs: 1_000 } },
      effective: { paused: true, concurrency: 2 },
    });
    const info = await jsonOf<{ groups?: object }>(await call(app, "GET", "/v1/queues/web", admin), 200);
    expect(info.groups).toEqual({ concurrency: 2 });
  });

  it("refuses limits out of range with 422, malformed ones with 400, naming the field, writing nothing", async () => {
    const before = await snapshot(app);
    const cases: [string, string, object, number, string][] = [
      ["PATCH", "/v1/queues/web/groups/g", { concurrency: 0 }, 422, "concurrency"],
      ["PATCH", "/v1/queues/web/groups/g", { limit: { max: 1, perMs: 90_000_000 } }, 422, "limit.perMs"],
      ["PATCH", "/v1/queues/web", { groups: { limit: { max: 0, perMs: 10 } } }, 422, "groups.limit.max"],
      ["PATCH", "/v1/queues/web", { concurrency: 0 }, 422, "concurrency"],
      ["PATCH", "/v1/queues/web/groups/g", { concurrency: "two" }, 400, "concurrency"],
      ["PATCH", "/v1/queues/web/groups/g", { weight: 2 }, 400, "weight"],
      ["PATCH", "/v1/queues/web/groups/a%20b", { paused: true }, 400, "group"],
      ["POST", "/v1/queues/web/jobs", { task: "t", options: { group: "x".repeat(129) } }, 400, "options.group"],
      [
        "POST",
        "/v1/queues/web/jobs",
        { task: "t", options: { dedupe: { key: "a/b", ttlMs: 1 } } },
        400,
        "options.dedupe.key",
      ],
    ];
    for (const [method, path, body, status, field] of cases) {
      const problem = await expectProblem(await call(app, method, path, { ...admin, body }), status);
      expect(
        problem.errors?.map((e) => e.field),
        path,
      ).toContain(field);
    }
    expect(await snapshot(app)).toEqual(before);
    await expectProblem(await call(app, "PATCH", "/v1/queues/web/groups/g", { key: KEYS.browser, body: {} }), 403);
  });

  it("answers a debounced call with the waiting job, and a deduplicated one with the first job", async () => {
    const debounce = { key: "draft-1", delayMs: 60_000 };
    const first = await jsonOf(await enqueue("web", { task: "save", args: 1, options: { debounce } }), 201);
    const second = await enqueue("web", { task: "save", args: 2, options: { debounce } });
    expect(await jsonOf(second, 200)).toMatchObject({ id: first.id, debounced: true, args: 2, status: "scheduled" });
    const dedupe = { key: "push-1", ttlMs: 60_000 };
    const made = await jsonOf(await enqueue("web", { task: "sync", options: { dedupe } }), 201);
    expect(made).not.toHaveProperty("deduplicated");
    const batch = await call(app, "POST", "/v1/queues/web/jobs/batch", {
      ...admin,
      body: { jobs: [{ task: "sync", options: { dedupe } }, { task: "sync" }] },
    });
    const { jobs } = await jsonOf<{ jobs: { id: string; deduplicated?: boolean }[] }>(batch, 201);
    expect(jobs[0]).toMatchObject({ id: made.id, deduplicated: true });
    expect(jobs[1]!.id).not.toBe(made.id);
  });
});

describe("a key's policy on flow options", () => {
  it("puts every job of a key with group: true into the group named after the key", async () => {
    const job = await jsonOf(await enqueue("web", { task: "t" }, TENANT), 201);
    expect(job.group).toBe("acme");
    const same = await jsonOf(await enqueue("web", { task: "t", options: { group: "acme" } }, TENANT), 201);
    expect(same.group).toBe("acme");
  });

  it("refuses another group, and the options a key forbids, with 422 naming them, writing nothing", async () => {
    const before = await snapshot(app);
    const other = await expectProblem(await enqueue("web", { task: "t", options: { group: "globex" } }, TENANT), 422);
    expect(other.errors).toEqual([
      { field: "options.group", message: 'must be "acme" (or left out) for this API key' },
    ]);
    const forbidden = await enqueue("web", { task: "t", options: { dedupe: { key: "k", ttlMs: 10 } } }, PLAIN);
    expect((await expectProblem(forbidden, 422)).errors?.[0]?.field).toBe("options.dedupe");
    expect(await snapshot(app)).toEqual(before);
  });
});
