// The dashboard's first page: every queue the key reaches, with its jobs per
// status, the last hour per minute, its workers and whether it is paused; then
// (admin keys) the live workers, each once, and the callback outbox.
import { html } from "hono/html";
import { STATUSES, type JobStatus, type QueueInfo, type QueuesPage, type WorkerInfo } from "../../shared/index.ts";
import { stateCounts, stateSummary, uniqueWorkers } from "../../shared/display.ts";
import {
  ago,
  chartSlot,
  count,
  href,
  jobLinks,
  pager,
  panel,
  limitChips,
  pausedBadge,
  plural,
  time,
  type Html,
  type Throughput,
} from "./parts.ts";
import { pauseToggle } from "./queue.ts";

export interface OverviewData {
  page: QueuesPage;
  /** Per queue; absent when this refresh leaves the charts out. */
  throughput?: Map<string, Throughput>;
  admin: boolean;
  cursor?: string;
  now: number;
}

/** Deliveries older than this mean receivers keep failing, or no worker takes them. */
const STALE_OUTBOX_MS = 5 * 60_000;

export function overview({ page, throughput, admin, cursor, now }: OverviewData): Html {
  const { queues } = page;
  const cards = queues.length
    ? html`<section class="queues" aria-label="Queues">${queues.map((q) =>
        card(q, throughput?.get(q.name), admin, now),
      )}</section>`
    : html`<div class="card empty">No queue is in use${cursor ? " past this page" : ""}.
        A queue shows here once a job is enqueued to it.</div>`;
  const pages = pager(href.queues(), page.nextCursor && href.queues(page.nextCursor), cursor !== undefined);
  // keys without admin see workers without names, so only admin keys can count each worker once
  const workers = admin ? liveWorkers(queues) : [];
  return html`<div class="page-head"><h1>Queues</h1></div>
    ${totals(page, workers, admin, now)}
    ${cards}
    ${pages && html`<div class="card">${pages}</div>`}
    ${workers.length ? workersTable(workers, now) : ""}`;
}

function totals({ queues, outbox }: QueuesPage, workers: WorkerInfo[], admin: boolean, now: number): Html {
  const total = (status: JobStatus) => queues.reduce((n, q) => n + q.counts[status], 0);
  const paused = queues.filter((q) => q.paused).length;
  const waiting = total("queued") + total("scheduled") + total("deferred") + total("awaiting");
  const failing = queues.filter((q) => q.counts.failed).length;
  const busy = workers.filter((w) => w.state === "busy").length;
  const oldest = outbox.oldestAt === null ? null : now - outbox.oldestAt;
  const states = stateSummary(workers, count) || "none";
  return html`<section class="summary" aria-label="Totals">
    ${tile("Queues", count(queues.length), paused ? `${count(paused)} paused` : "none paused", paused ? "warn" : "")}
    ${tile("Waiting", count(waiting), `${count(total("queued"))} queued`)}
    ${tile("Running", count(total("started")), admin ? plural(busy, "busy worker") : "")}
    ${tile("Failed", count(total("failed")), failing ? `in ${plural(failing, "queue")}` : "none", failing ? "bad" : "")}
    ${admin ? tile("Workers", count(workers.length), states, workers.length ? "" : "bad") : ""}
    ${
      admin
        ? tile(
            "Callback outbox",
            count(outbox.size),
            oldest === null ? "nothing waiting" : `oldest from ${ago(outbox.oldestAt!, now)}`,
            oldest !== null && oldest > STALE_OUTBOX_MS ? "bad" : "",
          )
        : ""
    }
  </section>`;
}

function tile(label: string, value: string, sub: string, tone: "" | "warn" | "bad" = ""): Html {
  return html`<div class="card tile" data-tone="${tone}">
    <span class="label">${label}</span><span class="value">${value}</span><span class="sub">${sub}</span>
  </div>`;
}

function card(q: QueueInfo, throughput: Throughput | undefined, admin: boolean, now: number): Html {
  return html`<article class="card queue${q.paused ? " paused" : ""}" data-queue="${q.name}">
    <header>
      <h2><a href="${href.queue(q.name)}">${q.name}</a></h2>
      ${q.paused ? pausedBadge : ""}${limitChips(q)}
      ${admin ? html`<div class="actions">${pauseToggle(q, true)}</div>` : ""}
    </header>
    <div class="body">
      <div class="counts">${STATUSES.map(
        (s) => html`<a class="count${q.counts[s] ? "" : " zero"}" data-status="${s}" href="${href.queue(q.name, s)}">
          <span class="label">${s}</span><span class="value">${count(q.counts[s])}</span></a>`,
      )}</div>
      ${chartSlot(q.name, throughput, now)}
      <div class="workers-line">${
        q.workers.length
          ? html`<span>${plural(q.workers.length, "worker")}:</span>${stateCounts(q.workers).map(
              ([state, n]) => html`<span class="state" data-state="${state}">${count(n)} ${state}</span>`,
            )}`
          : html`<span class="state">No worker listens on this queue</span>`
      }</div>
    </div>
  </article>`;
}

/** Each worker once, though it listens on several queues; busy ones first, then by name. */
function liveWorkers(queues: QueueInfo[]): WorkerInfo[] {
  const busyFirst = (w: WorkerInfo) => (w.state === "busy" ? 0 : 1);
  return uniqueWorkers(queues).sort((a, b) => busyFirst(a) - busyFirst(b) || a.name.localeCompare(b.name));
}

function workersTable(workers: WorkerInfo[], now: number): Html {
  const rows = workers.map((w) => {
    const where = [w.host, w.pid && `pid ${w.pid}`, w.isolation].filter(Boolean).join(" · ");
    return html`<tr data-key="${w.name}">
      <td class="wide"><span class="mono">${w.name}</span>${where ? html`<div class="note">${where}</div>` : ""}</td>
      <td><span class="state" data-state="${w.state}">${w.state}</span>${
        w.concurrency ? html`<div class="note">${w.currentJobs.length} of ${w.concurrency} slots</div>` : ""
      }</td>
      <td>${w.currentJobs.length ? jobLinks(w.currentJobs) : html`<span class="faint">—</span>`}</td>
      <td class="hide-narrow">${w.queues.map((q, i) => html`${i ? ", " : ""}<a href="${href.queue(q)}">${q}</a>`)}</td>
      <td class="num hide-narrow">${count(w.processed)}</td>
      <td class="num hide-narrow">${count(w.failed)}</td>
      <td class="hide-narrow when">${time(w.heartbeat, now)}</td>
    </tr>`;
  });
  const table = html`<table>
    <thead><tr><th>Worker</th><th>State</th><th>Running</th><th class="hide-narrow">Queues</th>
      <th class="num hide-narrow">Done</th><th class="num hide-narrow">Failed</th><th class="hide-narrow">Heartbeat</th>
    </tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
  return panel("Workers", table, { note: plural(workers.length, "live worker"), flush: true });
}
