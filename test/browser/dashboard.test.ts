// The dashboard as an operator uses it: /dashboard served by the real edge
// app (on Node, over the real gateway and Redis), in headless Chromium, with a
// real worker running the jobs. Screenshots of every page, at desktop and
// phone sizes, land in test-results/dashboard/ (git-ignored), to look at.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue } from "../../shared/index.ts";
import { startEdge, type EdgeServer } from "../support/edge.ts";
import { deleteKeys, uniquePrefix } from "../support/prefixes.ts";
import { until, Workers } from "../support/worker.ts";
import { launchChromium, type Browser } from "./chromium.ts";

const SHOTS = join(fileURLToPath(new URL("../..", import.meta.url)), "test-results", "dashboard");
const ADMIN_KEY = "dashboard-admin-key-0123456789";
const READER_KEY = "dashboard-reader-key-0123456789";
const PRODUCER_KEY = "dashboard-producer-key-0123456789";
const prefix = uniquePrefix("dashboard");
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 375, height: 812 } };

let redis: Redis;
let edge: EdgeServer;
let browser: Browser;
const workers = new Workers();
const queue = (name: string) => new Queue(name, { redis, prefix });

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  redis = new Redis(inject("redisUrl"));
  edge = await startEdge({
    redisUrl: inject("redisUrl"),
    prefix,
    apiKeys: [
      { name: "on-call", key: ADMIN_KEY, scopes: ["admin"] },
      { name: "support", key: READER_KEY, scopes: ["read"], queues: ["mail"] },
      { name: "producer", key: PRODUCER_KEY, scopes: ["enqueue"] },
    ],
  });
  // "held" before "mail": were "held" not paused, its jobs would be taken first
  await workers.start({
    redis,
    redisUrl: inject("redisUrl"),
    prefix,
    queues: ["held", "mail"],
    flags: ["--concurrency", "2"],
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await workers.killAll();
  await edge?.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

/** A fresh tab (its own sessionStorage) that records every error the page or its CSP reports. */
async function tab(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  await page.setViewportSize(SIZES.desktop);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return { page, errors };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${edge.url}/dashboard`);
  await page.fill("#key", key);
  await page.click("#signin-form button[type=submit]");
  await page.locator("#view > *").first().waitFor();
}

/** The page at both sizes, whole; back at the desktop size after. */
async function shoot(page: Page, name: string): Promise<void> {
  // the sticky bar is drawn where the page is scrolled to: at the top, where it belongs
  await page.evaluate(() => window.scrollTo(0, 0));
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(SIZES.desktop);
}

/** Clicks an action's button and confirms it in the dialog; resolves once the page says it is done. */
async function act(page: Page, button: ReturnType<Page["locator"]>, done: string, shot?: string): Promise<void> {
  await button.click();
  await page.locator("#confirm[open]").waitFor();
  if (shot) await page.screenshot({ path: join(SHOTS, `${shot}-desktop.png`) });
  await page.click("#confirm-ok");
  await expect.poll(() => page.textContent("#toast")).toContain(done);
}

/** What Chromium logs for a request the API refused, as the page meant it to be. */
const refused = (status: number) => expect.stringMatching(new RegExp(`^Failed to load resource: .* ${status}`));

const count = (page: Page, name: string, status: string) =>
  page.locator(`.queue[data-queue="${name}"] .count[data-status="${status}"] .value`);

describe("dashboard", () => {
  it("signs in with a key kept in the tab, and shows every queue's counts, chart and workers", async () => {
    const mail = queue("mail");
    const jobs = await mail.enqueueMany([{ task: "echo" }, { task: "echo" }, { task: "fail" }]);
    for (const job of jobs) await mail.waitFor(job.id, { timeoutMs: 15_000 });
    const { page, errors } = await tab();

    const response = await page.goto(`${edge.url}/dashboard`);
    expect(response!.headers()["content-security-policy"]).toMatch(/script-src 'self'; style-src 'self'/);
    await page.locator("#signin").waitFor();
    await shoot(page, "sign-in");
    await page.fill("#key", "a-key-this-deployment-never-issued");
    await page.click("#signin-form button[type=submit]");
    await expect.poll(() => page.textContent("#signin-error")).toContain("The API key was not accepted");
    expect(errors.splice(0)).toEqual([refused(401)]);

    await signIn(page, ADMIN_KEY);
    await expect.poll(() => count(page, "mail", "finished").textContent()).toBe("2");
    expect(await count(page, "mail", "failed").textContent()).toBe("1");
    expect(await page.textContent("#who")).toBe("on-call · admin");
    // the key is in this tab's storage, never in the address
    expect(await page.evaluate(() => sessionStorage.getItem("edgeq.dashboard.key"))).toBe(ADMIN_KEY);
    expect(page.url()).not.toContain(ADMIN_KEY);
    await expect.poll(() => page.locator(".queue[data-queue=mail] .chart .ok").count()).toBeGreaterThan(0);
    expect(await page.textContent(".queue[data-queue=mail] .legend")).toContain("2 finished");
    expect(await page.locator("section[aria-label=Workers] tbody tr").count()).toBe(1);
    await shoot(page, "queues");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("opens a failed job from its queue, shows its stack, and requeues it", async () => {
    const mail = queue("mail");
    const job = await mail.enqueue("throwHere", {});
    expect((await mail.waitFor(job.id, { timeoutMs: 15_000 })).status).toBe("failed");
    const { page, errors } = await tab();
    await signIn(page, ADMIN_KEY);

    await count(page, "mail", "failed").click();
    await page.locator(".tab[aria-current=page][data-status=failed]").waitFor();
    const row = page.locator(`tr[data-key="${job.id}"]`);
    expect(await row.locator(".err").textContent()).toBe("TypeError: thrown from the fixture module");
    await shoot(page, "queue");

    await row.locator("td.id a").click();
    await page.locator(".job-head .badge[data-status=failed]").waitFor();
    expect(await page.textContent(".error-box .stack")).toMatch(/at explode \(.*tasks\.ts:\d+:\d+\)/);
    expect(await page.locator(".timeline li.done").count()).toBe(4);
    await shoot(page, "job-failed");

    await act(page, page.locator(".job-head button", { hasText: "Requeue" }), "Requeued the job", "confirm");
    // run again by the worker, it fails again: the attempt it ended with is kept beside the new one
    await until("the requeued job to fail again", 15_000, async () => {
      const attempts = await mail.attempts(job.id);
      return attempts?.length === 2 && attempts[0]!.status === "failed";
    });
    await expect.poll(() => page.locator(".job-head .badge").textContent(), { timeout: 10_000 }).toBe("failed");
    await expect.poll(() => page.locator("table tr[data-key]").count(), { timeout: 10_000 }).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("pauses a queue: no worker takes its jobs until it is resumed", async () => {
    const held = queue("held");
    // a queue in use shows on the page
    const first = await held.enqueue("echo", {});
    expect((await held.waitFor(first.id, { timeoutMs: 15_000 })).status).toBe("finished");
    const { page, errors } = await tab();
    await signIn(page, ADMIN_KEY);

    await act(page, page.locator('.queue[data-queue="held"] button', { hasText: "Pause" }), "Paused held");
    expect((await held.info()).paused).toBe(true);
    const waiting = await held.enqueue("echo", { waits: "for resume" });
    // the worker prefers "held"; a later job of "mail" is taken and finished while the held one waits
    const later = await queue("mail").enqueue("echo", {});
    expect((await queue("mail").waitFor(later.id, { timeoutMs: 15_000 })).status).toBe("finished");
    expect((await held.getJob(waiting.id))!.status).toBe("queued");
    await page.locator('.queue[data-queue="held"] .badge.paused').waitFor();
    // enqueued behind the page's back: seen at its next refresh
    await expect.poll(() => count(page, "held", "queued").textContent(), { timeout: 10_000 }).toBe("1");
    await shoot(page, "queues-paused");

    await act(page, page.locator('.queue[data-queue="held"] button', { hasText: "Resume" }), "Resumed held");
    expect((await held.waitFor(waiting.id, { timeoutMs: 15_000 })).status).toBe("finished");
    await expect.poll(() => page.locator('.queue[data-queue="held"] .badge.paused').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("follows a running job's progress and state without a reload, and stops one", async () => {
    const mail = queue("mail");
    const stepping = await mail.enqueue("steps", { n: 4, ms: 700 });
    const { page, errors } = await tab();
    await signIn(page, ADMIN_KEY);
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    await page.goto(`${edge.url}/dashboard#/jobs/${stepping.id}`);
    await page.locator(".job-head .badge[data-status=started]").waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator(".progress").getAttribute("data-progress")).toMatch(/^(25|50|75)$/);
    await shoot(page, "job-running");
    await page.locator(".job-head .badge[data-status=finished]").waitFor({ timeout: 15_000 });
    expect(await page.textContent(".card:has(h2:text('Result')) pre")).toContain('"steps": 4');
    expect(await page.evaluate(() => (window as { sameDocument?: boolean }).sameDocument)).toBe(true);

    const hanging = await mail.enqueue("hang", { ms: 60_000 });
    await page.goto(`${edge.url}/dashboard#/jobs/${hanging.id}`);
    await page.locator(".job-head .badge[data-status=started]").waitFor({ timeout: 10_000 });
    await act(page, page.locator(".job-head button", { hasText: "Stop" }), "Asked its worker to stop the job");
    await page.locator(".job-head .badge[data-status=stopped]").waitFor({ timeout: 10_000 });
    expect((await mail.getJob(hanging.id))!.status).toBe("stopped");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("draws a durable job's recorded steps in order on its page", async () => {
    const mail = queue("mail");
    const job = await mail.enqueue("checkout", { order: "7" });
    expect((await mail.waitFor(job.id, { timeoutMs: 15_000 })).status).toBe("finished");
    const { page, errors } = await tab();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${edge.url}/dashboard#/jobs/${job.id}`);
    await page.locator(".job-head .badge[data-status=finished]").waitFor({ timeout: 10_000 });
    const steps = page.locator(".timeline.steps li");
    expect(await steps.count()).toBe(2);
    expect(await steps.nth(0).locator(".what").textContent()).toBe("1. charge");
    expect(await steps.nth(1).locator(".what").textContent()).toBe("2. receipt");
    expect(await page.textContent(".card:has(.timeline.steps) h2")).toBe("Steps (2)");
    await shoot(page, "job-steps");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows a job's latest log lines on its page, tagged with their attempt, to admin keys only", async () => {
    const mail = queue("mail");
    const job = await mail.enqueue("chatty", { lines: 12, failUntil: 2 }, { retry: { max: 1 } });
    expect((await mail.waitFor(job.id, { timeoutMs: 15_000 })).status).toBe("finished");
    const { page, errors } = await tab();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${edge.url}/dashboard#/jobs/${job.id}`);
    const lines = page.locator("ol.log li");
    await lines.first().waitFor({ timeout: 10_000 });
    expect(await lines.count()).toBe(26);
    expect(await lines.nth(0).locator(".text").textContent()).toBe("line 1 of attempt 1");
    expect(await lines.nth(0).locator(".attempt").textContent()).toBe("#1");
    expect(await lines.nth(25).locator(".attempt").textContent()).toBe("#2");
    expect(await lines.nth(25).getAttribute("data-level")).toBe("warn");
    expect(await page.textContent(".card:has(ol.log) header .muted")).toBe("26 lines written");
    // kept scrolled to its end, where the latest line is
    const end = await page.evaluate(() => {
      const log = document.querySelector("ol.log")!;
      return log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    });
    expect(end).toBe(true);
    await shoot(page, "job-log");
    await page.close();

    // a key without admin: no log, since a line may hold a secret
    const reader = await tab();
    await signIn(reader.page, READER_KEY);
    await reader.page.goto(`${edge.url}/dashboard#/jobs/${job.id}`);
    await reader.page.locator(".job-head .badge[data-status=finished]").waitFor({ timeout: 10_000 });
    expect(await reader.page.locator("ol.log").count()).toBe(0);
    expect([...errors, ...reader.errors]).toEqual([]);
    await reader.page.close();
  });

  it("changes a queue's limits, empties it, and requeues what that canceled, from its page", async () => {
    const tidy = queue("tidy");
    await tidy.enqueueMany([{ task: "echo" }, { task: "echo" }, { task: "echo" }]);
    const { page, errors } = await tab();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${edge.url}/dashboard#/queues/tidy`);
    await page.locator(".tab[aria-current=page][data-status=queued]").waitFor();

    await page.fill("input[name='limit.max']", "10");
    await page.fill("input[name='limit.perMs']", "1000");
    await page.fill("input[name=concurrency]", "3");
    // a count for finished jobs only: the failed ones are all kept
    await page.fill("input[name='keep.finished']", "50");
    await page.click("form.settings button[type=submit]");
    await expect.poll(() => page.textContent("#toast")).toBe("Saved the settings of tidy");
    expect(await tidy.info()).toMatchObject({
      limit: { max: 10, perMs: 1000 },
      concurrency: 3,
      keep: { finished: 50 },
    });
    expect((await tidy.info()).keep).toEqual({ finished: 50 });
    await expect.poll(() => page.textContent(".page-head")).toMatch(/10 \/ 1 s\s*3 at once/);
    await shoot(page, "queue-settings");
    await page.fill("input[name='limit.max']", "");
    await page.fill("input[name='limit.perMs']", "");
    await page.fill("input[name=concurrency]", "");
    await page.fill("input[name='keep.finished']", "");
    await page.click("form.settings button[type=submit]");
    await expect.poll(async () => (await tidy.info()).concurrency).toBeUndefined();
    expect((await tidy.info()).limit).toBeUndefined();
    expect((await tidy.info()).keep).toBeUndefined();

    await act(page, page.locator(".page-head button", { hasText: "Empty" }), "Canceled 3 queued jobs");
    expect(await tidy.counts()).toMatchObject({ queued: 0, canceled: 3 });
    await page.click(".tab[data-status=canceled]");
    await act(page, page.locator(".toolbar button", { hasText: "Requeue all canceled" }), "Requeued 3 canceled jobs");
    expect(await tidy.counts()).toMatchObject({ queued: 3, canceled: 0 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows a queue's groups, most loaded first, a page at a time, and pauses and resumes one", async () => {
    // no worker listens on "tenants": the counts stay as enqueued
    const tenants = queue("tenants");
    const into = (group: string, n: number) => Array.from({ length: n }, () => ({ task: "echo", options: { group } }));
    const few = Array.from({ length: 10 }, (_, i) => into(`tenant-${String(i + 1).padStart(2, "0")}`, 1)).flat();
    await tenants.enqueueMany([...into("acme", 5), ...into("globex", 3), ...into("initech", 2), ...few]);
    await tenants.enqueueMany([{ task: "echo" }, { task: "echo" }]);
    await tenants.configure({ groups: { concurrency: 2 } });
    await tenants.configureGroup("globex", { limit: { max: 60, perMs: 60_000 } });
    const { page, errors } = await tab();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${edge.url}/dashboard#/queues/tenants`);
    const section = page.locator("section[aria-label=Groups]");
    const rows = section.locator("tbody tr");
    await section.waitFor();

    expect(await section.locator("header").textContent()).toContain("13 groups, most loaded first");
    expect(await section.locator(".group-summary").textContent()).toMatch(
      /Without a group\s*2 waiting · 0 started\s*Each group by default\s*2 at once/,
    );
    expect(await rows.count()).toBe(10);
    expect((await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key")))).slice(0, 3)).toEqual([
      "acme",
      "globex",
      "initech",
    ]);
    const cells = (group: string) => section.locator(`tr[data-key="${group}"] td`).allInnerTexts();
    expect((await cells("acme")).slice(0, 5)).toEqual(["acme", "5", "0", "default", "2 at once"]);
    expect((await cells("globex")).slice(0, 5)).toEqual([
      "globex",
      "3",
      "0",
      "60 per 1 min",
      "60 per 1 min, 2 at once",
    ]);

    await act(page, section.locator('tr[data-key="acme"] button', { hasText: "Pause" }), "Paused group acme");
    const acme = async () => (await tenants.groups()).groups.find((g) => g.name === "acme")!;
    expect((await acme()).policy.paused).toBe(true);
    await section.locator('tr[data-key="acme"] .badge.paused').waitFor();
    await shoot(page, "queue-groups");
    await act(page, section.locator('tr[data-key="acme"] button', { hasText: "Resume" }), "Resumed group acme");
    expect((await acme()).policy.paused).toBeUndefined();
    await expect.poll(() => section.locator(".badge.paused").count()).toBe(0);

    // the next page: the three least loaded groups, without what only the first page says
    await section.locator(".pager a", { hasText: "Next page" }).click();
    await expect.poll(() => rows.count()).toBe(3);
    expect(await section.locator(".group-summary").count()).toBe(0);
    await section.locator(".pager a", { hasText: "First page" }).click();
    await expect.poll(() => rows.count()).toBe(10);

    // a queue that has never used groups has no such section
    await page.goto(`${edge.url}/dashboard#/queues/mail`);
    await page.locator(".page-head h1", { hasText: "mail" }).waitFor();
    expect(await page.locator("section[aria-label=Groups]").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows a key without admin only its queues, without actions or stacks", async () => {
    const failed = (await queue("mail").list("failed")).jobs[0]!;
    const { page, errors } = await tab();
    await signIn(page, READER_KEY);
    await count(page, "mail", "failed").waitFor();
    expect(await page.locator(".queue").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-queue")))).toEqual(
      ["mail"],
    );
    expect(await page.locator("#view button").count()).toBe(0);
    await page.goto(`${edge.url}/dashboard#/jobs/${failed.id}`);
    await page.locator(".error-box").waitFor();
    expect(await page.locator(".error-box .stack").count()).toBe(0);
    expect(await page.locator("#view button").count()).toBe(0);
    await page.goto(`${edge.url}/dashboard#/queues/held`);
    await expect.poll(() => page.textContent(".problem")).toContain('this API key cannot use queue "held"');
    expect(errors.splice(0)).toEqual([refused(403)]);

    // a key that may only enqueue is told what it lacks
    await page.click("#sign-out");
    await signIn(page, PRODUCER_KEY);
    await expect.poll(() => page.textContent(".problem")).toContain('this API key lacks the "read" scope');
    expect(errors).toEqual([refused(403)]);
    await page.close();
  });
});
