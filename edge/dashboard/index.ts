// The dashboard at /dashboard, served by the edge itself: one page, its
// script, stylesheet and icon, and the views the script draws, each rendered
// here as HTML for the key that asks. A view reads what the HTTP API's own
// routes read (the same Store calls, redacted the same way for keys without
// admin); its actions go to the HTTP API itself. Nothing comes from another
// origin, and the page's Content-Security-Policy allows scripts and styles
// from this one only.
import { Hono, type Context } from "hono";
import { etag } from "hono/etag";
import { html } from "hono/html";
import { secureHeaders } from "hono/secure-headers";
import { z } from "zod";
import { isTerminal, JobNotFoundError, STATUSES, type QueuesPage } from "../../shared/index.ts";
import { parseOrThrow } from "../../shared/errors.ts";
import { queueNameSchema } from "../../shared/names.ts";
import { can, reaches } from "../auth.ts";
import { requireScope } from "../bearer.ts";
import type { AppEnv } from "../context.ts";
import { redactAttempts, redactJob, redactQueue } from "../redact.ts";
import { SCRIPT, STYLE } from "./assets.generated.ts";
import { jobView } from "./job.ts";
import { overview } from "./overview.ts";
import { ICON, PAGE } from "./page.ts";
import { href, type Html, type Throughput } from "./parts.ts";
import { firstTab, queueView } from "./queue.ts";

export const dashboard = new Hono<AppEnv>();

// Scripts, styles, images and requests to this origin only; no inline script or style, no frames, no
// form that submits anywhere (the sign-in form is the script's), no <base> to redirect relative URLs.
const policy = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});
// "/dashboard/*" matches /dashboard itself too
dashboard.use("/dashboard/*", policy);

/** Queues per overview page: each brings a throughput read when the charts are drawn. */
const QUEUES_PER_PAGE = 20;
const JOBS_PER_PAGE = 50;
/** Groups on a queue's page, most loaded first: the ones an operator looks for; the rest a page at a time. */
const GROUPS_PER_PAGE = 10;
/** A job's latest log lines on its page; the rest are a GET /v1/jobs/:id/logs or `edgeq admin logs` away. */
const LOG_LINES = 200;
/** How often the page redraws a view (ms): a running job sooner, an ended one rarely. */
const REFRESH = { queues: 5000, queue: 5000, runningJob: 2000, endedJob: 10_000 };

dashboard.get("/dashboard", (c) => c.html(PAGE, 200, { "Cache-Control": "no-cache" }));
// relative URLs in the page resolve against /dashboard, not /dashboard/
dashboard.get("/dashboard/", (c) => c.redirect("../dashboard", 308));

const assets: Record<string, [type: string, body: string]> = {
  "app.js": ["text/javascript; charset=utf-8", SCRIPT],
  "app.css": ["text/css; charset=utf-8", STYLE],
  "icon.svg": ["image/svg+xml", ICON],
};
for (const [name, [type, body]] of Object.entries(assets)) {
  // no-cache with an ETag: a deploy is seen at once, an unchanged file costs a 304
  dashboard.get(`/dashboard/${name}`, etag(), (c) =>
    c.body(body, 200, { "Content-Type": type, "Cache-Control": "no-cache" }),
  );
}

dashboard.get("/dashboard/view/queues", requireScope("read"), async (c) => {
  const cursor = optional(c.req.query("cursor"), queueNameSchema, "cursor");
  const principal = c.var.principal;
  const page = await visibleQueues(c, cursor);
  const throughput = charted(c)
    ? await throughputs(
        c,
        page.queues.map((q) => q.name),
      )
    : undefined;
  const shown = { ...page, queues: page.queues.map((q) => redactQueue(q, principal)) };
  const body = overview({ page: shown, throughput, admin: can(principal, "admin"), cursor, now: Date.now() });
  return view(c, "Queues", REFRESH.queues, body);
});

dashboard.get("/dashboard/view/queues/:queue", requireScope("read"), async (c) => {
  const queue = c.var.store.queue(c.req.param("queue"));
  const cursor = optional(c.req.query("cursor"), z.string().max(200), "cursor");
  const groupsCursor = optional(c.req.query("groups"), z.string().max(16), "groups");
  const asked = optional(c.req.query("status"), z.enum(STATUSES), "status");
  const {
    queues: [found],
  } = await c.var.store.describe({ queues: [queue.name] });
  const info = redactQueue(found!, c.var.principal);
  const status = asked ?? firstTab(info);
  const [page, groups, throughput] = await Promise.all([
    queue.list(status, { limit: JOBS_PER_PAGE, cursor }),
    queue.groups({ limit: GROUPS_PER_PAGE, cursor: groupsCursor }),
    charted(c) ? queue.throughput() : undefined,
  ]);
  page.jobs = page.jobs.map((job) => redactJob(job, c.var.principal));
  const admin = can(c.var.principal, "admin");
  const body = queueView({ info, status, page, cursor, groups, groupsCursor, throughput, admin, now: Date.now() });
  return view(c, `${queue.name} · ${status}`, REFRESH.queue, html`${crumbs()}${body}`);
});

dashboard.get("/dashboard/view/jobs/:id", requireScope("read"), async (c) => {
  const id = c.req.param("id");
  const principal = c.var.principal;
  const found = await c.var.store.getJob(id);
  // a job of a queue the key does not reach is "not found", as in GET /v1/jobs/:id
  if (!found || !reaches(principal, found.queue)) throw new JobNotFoundError(id);
  const job = redactJob(found, principal);
  const attempts = redactAttempts((await c.var.store.queue(job.queue).attempts(id)) ?? [], found, principal);
  const admin = can(principal, "admin");
  const log = admin ? await c.var.store.queue(job.queue).logs(id, { tail: true, limit: LOG_LINES }) : null;
  const body = jobView({ job, attempts, log, admin, now: Date.now(), traceUrl: c.var.traceUrl });
  const refresh = isTerminal(job.status) ? REFRESH.endedJob : REFRESH.runningJob;
  return view(c, `Job ${id}`, refresh, html`${crumbs(job.queue)}${body}`);
});

/** A view as the script expects it: one element whose data attributes say how to show it. */
function view(c: Context<AppEnv>, title: string, refreshMs: number, body: Html): Response | Promise<Response> {
  const { name, scopes } = c.var.principal;
  const who = `${name} · ${[...scopes].join(", ")}`;
  return c.html(html`<div data-title="${title}" data-who="${who}" data-refresh="${refreshMs}">${body}</div>`, 200, {
    "Cache-Control": "no-store",
  });
}

/** The way back up: Queues, then the job's queue (the page's own name is its heading). */
function crumbs(queue?: string): Html {
  return html`<nav class="crumbs" aria-label="Breadcrumb"><a href="${href.queues()}">Queues</a>${
    queue ? html`<a href="${href.queue(queue)}">${queue}</a>` : ""
  }</nav>`;
}

/** Each queue's last hour, per minute: one Redis call each, made side by side. */
async function throughputs(c: Context<AppEnv>, names: string[]): Promise<Map<string, Throughput>> {
  const counts = await Promise.all(names.map((name) => c.var.store.queue(name).throughput()));
  return new Map(names.map((name, i) => [name, counts[i]!]));
}

/** Whether this refresh draws the charts (the script asks every half minute: they count per minute). */
function charted(c: Context<AppEnv>): boolean {
  return c.req.query("charts") !== "0";
}

function optional<T extends z.ZodType>(value: string | undefined, schema: T, name: string): z.output<T> | undefined {
  return value === undefined || value === "" ? undefined : parseOrThrow(schema, value, name);
}

/** A page of the queues the key reaches, by name, as GET /v1/queues pages them. */
async function visibleQueues(c: Context<AppEnv>, cursor: string | undefined): Promise<QueuesPage> {
  const limited = c.var.principal.queues;
  if (!limited) return c.var.store.describe({ cursor, limit: QUEUES_PER_PAGE });
  const names = [...limited].sort().filter((q) => !cursor || q > cursor);
  const page = await c.var.store.describe({ queues: names.slice(0, QUEUES_PER_PAGE) });
  return { ...page, nextCursor: names.length > QUEUES_PER_PAGE ? names[QUEUES_PER_PAGE - 1]! : null };
}
