// edgeq/client against the real API: the edge app on Node, the gateway, the
// run's Redis and a real worker running the jobs.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue } from "../shared/index.ts";
import { EdgeqApiError, EdgeqClient, type JobView } from "../shared/client.ts";
import { startEdge, type EdgeServer } from "./support/edge.ts";
import { deleteKeys, uniquePrefix } from "./support/prefixes.ts";
import { Workers } from "./support/worker.ts";

const prefix = uniquePrefix("client");
const SERVER_KEY = "client-test-server-key-0123456789";
const BROWSER_KEY = "client-test-browser-key-0123456789";
let edge: EdgeServer;
let redis: Redis;
const workers = new Workers();
let server: EdgeqClient;
let browser: EdgeqClient;

beforeAll(async () => {
  redis = new Redis(inject("redisUrl"));
  edge = await startEdge({
    redisUrl: inject("redisUrl"),
    prefix,
    apiKeys: [
      { name: "server", key: SERVER_KEY, scopes: ["admin"] },
      { name: "browser", key: BROWSER_KEY, scopes: ["enqueue", "read"], queues: ["work"] },
    ],
  });
  server = new EdgeqClient({ url: edge.url, key: SERVER_KEY });
  browser = new EdgeqClient({ url: `${edge.url}/`, key: BROWSER_KEY });
  await workers.start({ redis, redisUrl: inject("redisUrl"), prefix, queues: ["work"] });
});

afterAll(async () => {
  await workers.killAll();
  await edge?.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

/** A TCP proxy to the edge that passes its first request on but cuts the connection before the answer comes back. */
async function cutFirstAnswer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const target = new URL(edge.url);
  let connections = 0;
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const first = ++connections === 1;
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream);
    if (first) {
      // the edge has acted on the request: the client sees only a lost connection
      upstream.once("data", () => {
        client.destroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(client);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

describe("EdgeqClient", () => {
  it("enqueues a job, waits for its result and reads it back", async () => {
    const job = await browser.enqueue("work", { task: "echo", args: { hello: "client" } });
    expect(job).toMatchObject({ queue: "work", task: "echo", status: "queued" });
    const done = await browser.wait(job.id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ id: job.id, status: "finished", result: { hello: "client" }, attempts: 1 });
    expect(await browser.get(job.id)).toEqual(done);
  });

  it("follows a job's status as events, sending the key EventSource cannot", async () => {
    const job = await browser.enqueue("work", { task: "sleep", args: { ms: 300 } });
    const seen: JobView[] = [];
    for await (const update of browser.events(job.id)) seen.push(update);
    const statuses = seen.map((update) => update.status);
    expect(statuses.at(-1)).toBe("finished");
    expect(seen.at(-1)!.result).toEqual({ slept: 300 });
    // each change once, in the order the job went through them
    const order = ["queued", "started", "finished"];
    expect(statuses).toEqual(order.filter((status) => statuses.includes(status as JobView["status"])));
  });

  it("passes on a running job's progress as events, the job's other fields kept", async () => {
    const job = await browser.enqueue("work", { task: "steps", args: { n: 2, ms: 300 } });
    const seen: JobView[] = [];
    for await (const update of browser.events(job.id)) seen.push(update);
    expect(seen).toContainEqual(expect.objectContaining({ id: job.id, status: "started", progress: 50 }));
    expect(seen.at(-1)).toMatchObject({ status: "finished", progress: 100, result: { steps: 2 } });
  });

  it("enqueues a batch, all in order", async () => {
    const jobs = await browser.batch("work", [
      { task: "echo", args: 1 },
      { task: "echo", args: 2 },
      { task: "echo", args: 3 },
    ]);
    expect(jobs.map((job) => job.args)).toEqual([1, 2, 3]);
    const done = await Promise.all(jobs.map((job) => browser.wait(job.id, { timeoutMs: 10_000 })));
    expect(done.map((job) => [job.status, job.result])).toEqual([
      ["finished", 1],
      ["finished", 2],
      ["finished", 3],
    ]);
  });

  it("says when a debounce key gathered an enqueue into its waiting job", async () => {
    const debounce = { key: "client-draft", delayMs: 60_000 };
    const first = await browser.enqueue("work", { task: "echo", args: 1, options: { debounce } });
    expect(first.debounced).toBeUndefined();
    const again = await browser.enqueue("work", { task: "echo", args: 2, options: { debounce } });
    expect(again).toMatchObject({ id: first.id, debounced: true, args: 2, status: "scheduled" });
  });

  it("sends an event to a queue, and says how many waiting jobs it resumed", async () => {
    expect(await browser.sendEvent("work", "nothing.waits", { key: "k", data: { n: 1 } })).toEqual({
      resumed: 0,
      more: false,
    });
    const refused = await browser.sendEvent("work", "bad name").catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 400 });
  });

  it("lists a queue's jobs of one status, page by page", async () => {
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push((await server.enqueue("idle-list", { task: "echo", args: n })).id);
    const first = await server.list("idle-list", "queued", { limit: 2 });
    expect(first.jobs).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await server.list("idle-list", "queued", { limit: 2, cursor: first.nextCursor });
    expect(second.nextCursor).toBeNull();
    expect([...first.jobs, ...second.jobs].map((job) => job.id).sort()).toEqual(ids.sort());
  });

  it("cancels a waiting job and requeues it", async () => {
    const job = await server.enqueue("idle-cancel", { task: "echo" });
    expect(await server.cancel(job.id)).toMatchObject({ id: job.id, status: "canceled" });
    expect(await server.requeue(job.id)).toMatchObject({ id: job.id, status: "queued" });
  });

  it("reads a job's log a page at a time, with an admin key only", async () => {
    const job = await server.enqueue("work", { task: "chatty", args: { lines: 3 } });
    await server.wait(job.id, { timeoutMs: 20_000 });
    const page = await server.logs(job.id, { offset: 1, limit: 2 });
    expect(page).toMatchObject({ total: 4, dropped: 0, nextOffset: 3 });
    expect(page.lines.map((l) => l.text)).toEqual(["line 2 of attempt 1", "line 3 of attempt 1"]);
    await expect(browser.logs(job.id)).rejects.toMatchObject({ status: 403 });
  });

  it("throws the API's problems as EdgeqApiError with their fields", async () => {
    const invalid = await browser.enqueue("work", { task: "no spaces allowed" }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(EdgeqApiError);
    expect(invalid).toMatchObject({
      status: 400,
      type: "urn:edgeq:problem:invalid-request",
      errors: [expect.objectContaining({ field: "task" })],
    });

    await expect(browser.get("no-such-job")).rejects.toMatchObject({
      name: "EdgeqApiError",
      status: 404,
      type: "urn:edgeq:problem:job-not-found",
      title: "No such job",
      detail: expect.stringContaining("no-such-job"),
    });
    const job = await browser.enqueue("work", { task: "echo" });
    // a browser key may not cancel, nor reach another queue
    await expect(browser.cancel(job.id)).rejects.toMatchObject({ status: 403 });
    await expect(browser.enqueue("other", { task: "echo" })).rejects.toMatchObject({ status: 403 });
    const stranger = new EdgeqClient({ url: edge.url, key: "not-a-key-of-this-deployment-at-all" });
    await expect(stranger.get(job.id)).rejects.toMatchObject({ status: 401 });
  });

  it("retries an enqueue cut off by the network with the same Idempotency-Key: the job is enqueued once", async () => {
    const proxy = await cutFirstAnswer();
    try {
      const client = new EdgeqClient({ url: proxy.url, key: SERVER_KEY });
      const job = await client.enqueue("idle-retry", { task: "echo", args: { once: true } });
      expect(proxy.connections()).toBe(2);
      const queued = await new Queue("idle-retry", { redis, prefix }).list("queued");
      expect(queued.jobs.map((j) => j.id)).toEqual([job.id]);
    } finally {
      await proxy.close();
    }
  });

  it("gives up on a network error after its retries, and then throws fetch's own error", async () => {
    const proxy = await cutFirstAnswer();
    await proxy.close();
    const client = new EdgeqClient({ url: proxy.url, key: SERVER_KEY, retries: 1 });
    await expect(client.get("any")).rejects.toThrow(TypeError);
  });

  it("is one ES module with no imports, under 5 kB minified", async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../shared/client.ts", import.meta.url))],
      bundle: true,
      minify: true,
      format: "esm",
      write: false,
      metafile: true,
    });
    expect(Object.keys(result.metafile.inputs)).toEqual(["shared/client.ts"]);
    const bytes = result.outputFiles[0]!.contents.byteLength;
    expect(bytes, `${bytes} bytes minified`).toBeLessThan(5 * 1024);
  });
});
