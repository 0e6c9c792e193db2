// examples/browser as a visitor sees it: the page served by its own
// serve.mjs, in headless Chromium, calling the real edge app (another origin,
// so CORS is real) with a browser key, and a real worker running the jobs.
// Screenshots land in test-results/browser/ (git-ignored), to look at.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Redis } from "ioredis";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue } from "../../shared/index.ts";
import { startEdge, type EdgeServer } from "../support/edge.ts";
import { freePort } from "../support/redis.ts";
import { deleteKeys, uniquePrefix } from "../support/prefixes.ts";
import { Workers } from "../support/worker.ts";
import { launchChromium, type Browser } from "./chromium.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = join(ROOT, "test-results", "browser");
const BROWSER_KEY = "example-page-browser-key-0123456789";
const prefix = uniquePrefix("browser");

let dir: string;
let client: string;
let redis: Redis;
let edge: EdgeServer;
let browser: Browser;
let pageUrl: string;
let refusedPort: number;
const workers = new Workers();
const servers = new Set<ChildProcess>();

/** Starts examples/browser/serve.mjs as its README says, with this key; resolves with the page's URL. */
async function servePage(port: number, key: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [join(ROOT, "examples/browser/serve.mjs"), "--port", String(port), "--client", client],
    {
      env: { ...process.env, EDGEQ_URL: edge.url, EDGEQ_BROWSER_KEY: key, EDGEQ_QUEUE: "web" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  servers.add(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      const url = /on (http:\S+)/.exec(chunk.toString())?.[1];
      if (url) resolve(url);
    });
    child.once("exit", (code) => reject(new Error(`serve.mjs exited with ${code}`)));
  });
}

/** A page that fails the test on any uncaught error in it. */
async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(url);
  return { page, errors };
}

async function enqueue(page: Page, task: string, args?: string): Promise<void> {
  await page.selectOption("select[name=task]", task);
  if (args !== undefined) await page.fill("textarea[name=args]", args);
  await page.click("button[type=submit]");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeq-browser-"));
  await mkdir(SHOTS, { recursive: true });
  // the client as the package ships it: one ES module, its types stripped
  client = join(dir, "edgeq-client.js");
  await build({ entryPoints: [join(ROOT, "shared/client.ts")], bundle: true, format: "esm", outfile: client });
  redis = new Redis(inject("redisUrl"));
  const pagePort = await freePort();
  refusedPort = await freePort();
  edge = await startEdge({
    redisUrl: inject("redisUrl"),
    prefix,
    apiKeys: [{ name: "page", key: BROWSER_KEY, scopes: ["enqueue", "read"], queues: ["web"] }],
    // the pages' origins, as CORS_ORIGINS names them
    corsOrigins: [pagePort, refusedPort].map((port) => `http://127.0.0.1:${port}`),
  });
  await workers.start({
    redis,
    redisUrl: inject("redisUrl"),
    prefix,
    queues: ["web"],
    tasks: "worker-node/demo-tasks.ts",
  });
  browser = await launchChromium();
  pageUrl = await servePage(pagePort, BROWSER_KEY);
});

afterAll(async () => {
  await browser?.close();
  for (const child of servers) child.kill();
  await workers.killAll();
  await edge?.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

describe("examples/browser", () => {
  it("enqueues jobs with a browser key and shows each one's result or error as it comes", async () => {
    const { page, errors } = await open(pageUrl);
    await expect.poll(() => page.textContent("#connection")).toContain("Connected to queue “web”");
    expect(await page.isVisible("#empty")).toBe(true);

    await enqueue(page, "echo", '{"hello": "from the page"}');
    const finished = page.locator('.job[data-status="finished"]');
    await finished.waitFor();
    expect(await finished.locator("pre").textContent()).toBe('{\n  "hello": "from the page"\n}');
    expect(await finished.locator(".when").textContent()).toMatch(/^took \d+ ms$/);
    expect(await page.isVisible("#empty")).toBe(false);

    await enqueue(page, "fail");
    const failed = page.locator('.job[data-status="failed"]');
    await failed.waitFor();
    expect(await failed.locator("pre").textContent()).toBe("this job was told to fail");

    await enqueue(page, "sleep", '{"ms": 4000}');
    const started = page.locator('.job[data-status="started"]');
    await started.waitFor();
    expect(await started.locator(".when").textContent()).toBe("running…");
    await page.screenshot({ path: join(SHOTS, "example.png"), fullPage: true });

    // the newest first, each with its own state
    const statuses = await page.locator(".job .status").allTextContents();
    expect(statuses).toEqual(["started", "failed", "finished"]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("refuses arguments that are not JSON before anything is sent", async () => {
    const { page, errors } = await open(pageUrl);
    await expect.poll(() => page.textContent("#connection")).toContain("Connected");
    const before = await new Queue("web", { redis, prefix }).counts();
    await enqueue(page, "echo", "{hello");
    await expect.poll(() => page.textContent("#args-error")).toContain("That is not JSON");
    expect(await new Queue("web", { redis, prefix }).counts()).toEqual(before);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("says so when the API refuses the page's key, and offers no button to press", async () => {
    const url = await servePage(refusedPort, "a-key-this-deployment-never-issued");
    const { page, errors } = await open(url);
    await expect.poll(() => page.textContent("#connection")).toContain("The API refused the key (401)");
    expect(await page.getAttribute("#connection", "data-kind")).toBe("error");
    expect(await page.isDisabled("button[type=submit]")).toBe(true);
    await page.screenshot({ path: join(SHOTS, "refused.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
