// Pieces the dashboard's views are made of: links, badges, times, panels,
// pagers, JSON, the per-minute chart and the buttons that act through the
// HTTP API. Markup
// goes through hono/html, which escapes every value it is given, so job
// args, errors and names can hold anything. Times are worded as the admin
// CLI words them (shared/display.ts), spelled out for a page.
import { html } from "hono/html";
import type { JobStatus, JsonValue, QueueInfo } from "../../shared/index.ts";
import { noun, PAGE_TIMES, timeWords } from "../../shared/display.ts";

export type Html = ReturnType<typeof html>;

/** Jobs a queue finished and failed in each of the last minutes, oldest first, from `since` (epoch ms). */
export interface Throughput {
  since: number;
  finished: number[];
  failed: number[];
}

/** Hash routes of the page (the API key never goes in a URL; these hold only names and ids). */
export const href = {
  queues: (cursor?: string | null) => `#/queues${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`,
  /** A queue's page: a tab, the page of its jobs (cursor) and the page of its groups (groups, their cursor). */
  queue: (name: string, status?: JobStatus, cursor?: string | null, groups?: string | null) => {
    const query = new URLSearchParams();
    if (status) query.set("status", status);
    if (cursor) query.set("cursor", cursor);
    if (groups) query.set("groups", groups);
    const search = query.toString();
    return `#/queues/${encodeURIComponent(name)}${search ? `?${search}` : ""}`;
  },
  job: (id: string) => `#/jobs/${encodeURIComponent(id)}`,
};

/** The path of an API route relative to the page, so the dashboard works wherever the app is mounted. */
export const api = {
  queue: (name: string) => `v1/queues/${encodeURIComponent(name)}`,
  group: (queue: string, group: string) => `${api.queue(queue)}/groups/${encodeURIComponent(group)}`,
  job: (id: string) => `v1/jobs/${encodeURIComponent(id)}`,
};

export function badge(status: JobStatus): Html {
  return html`<span class="badge" data-status="${status}">${status}</span>`;
}

/** A queue's limits, when it has any, as small chips beside its name. */
export function limitChips({ limit, concurrency }: Pick<QueueInfo, "limit" | "concurrency">): Html {
  const rate = limit && html`<span class="chip" title="rate limit">${count(limit.max)} / ${span(limit.perMs)}</span>`;
  const running =
    concurrency && html`<span class="chip" title="concurrency, fleet-wide">${count(concurrency)} at once</span>`;
  return html`${rate}${running}`;
}

export const pausedBadge = html`<span class="badge paused" title="No worker starts its jobs">paused</span>`;

/** A time as "3 min ago" (or "in 5 min"); the page shows the exact moment, in the reader's zone, on hover. */
export function time(ms: number | null, now: number): Html {
  if (ms === null) return html`<span class="faint">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" title="${iso}">${ago(ms, now)}</time>`;
}

/** "2026-05-01 12:00:03 UTC": the moment as logs name it, to find it in them. */
export function moment(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "3 min ago", one unit, as a glance wants it; "5 min 3 s", a length in its largest unit or two. */
export const { ago, span } = timeWords(PAGE_TIMES);

/** "Ended" for a heading, from "ended". */
export function capitalized(word: string): string {
  return `${word[0]!.toUpperCase()}${word.slice(1)}`;
}

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${noun(n, one, many)}`;
}

/** A card with a heading (and a note beside it), its body padded unless it is a table. */
export function panel(title: string, body: Html | string, options: { note?: string; flush?: boolean } = {}): Html {
  return html`<section class="card" aria-label="${title}">
    <header><h2>${title}</h2>${options.note ? html`<span class="muted">${options.note}</span>` : ""}</header>
    <div class="${options.flush ? "table-wrap" : "body"}">${body}</div>
  </section>`;
}

/** Links to the first and the next page of a listing; nothing when there is one page. */
export function pager(first: string, next: string | null, paged: boolean): Html | "" {
  if (!paged && !next) return "";
  return html`<nav class="pager" aria-label="Pages">
    ${paged ? html`<a href="${first}">← First page</a>` : html`<span></span>`}
    ${next ? html`<a href="${next}">Next page →</a>` : ""}
  </nav>`;
}

/** Job ids as links, in a row that wraps. */
export function jobLinks(ids: string[]): Html {
  return html`<div class="deps">${ids.map((id) => html`<a href="${href.job(id)}">${id}</a>`)}</div>`;
}

export function json(value: JsonValue | undefined): Html {
  return html`<pre class="code">${JSON.stringify(value ?? null, null, 2)}</pre>`;
}

export interface Action {
  /** "POST v1/queues/mail/pause": what the page sends, with the key, when it is confirmed. */
  request: string;
  /** Sent as the request's JSON body (a button's action has no form to send). */
  body?: JsonValue;
  label: string;
  /** Asked before anything is sent; the button that confirms repeats the label. */
  confirm?: string;
  /** Said once it is done; "{count}" is the number of jobs a bulk action moved, "{jobs}" "job" or "jobs". */
  done: string;
  danger?: boolean;
  /** A bulk action: repeated while the API answers `more`. */
  bulk?: boolean;
  small?: boolean;
}

export function button(a: Action): Html {
  const kind = `btn${a.danger ? " danger" : ""}${a.small ? " small" : ""}`;
  return html`<button type="button" class="${kind}" data-act="${a.request}" data-done="${a.done}"
    ${a.body === undefined ? "" : html`data-body="${JSON.stringify(a.body)}"`}
    ${a.confirm ? html`data-confirm="${a.confirm}"` : ""} ${a.bulk ? "data-bulk" : ""}>${a.label}</button>`;
}

/**
 * Where a queue's chart goes. A refresh that leaves the charts out (they
 * change once a minute) sends the slot empty and marked, and the page keeps
 * the chart it has.
 */
export function chartSlot(queue: string, throughput: Throughput | undefined, now: number): Html {
  if (!throughput) return html`<div id="chart-${queue}" data-keep></div>`;
  return html`<div id="chart-${queue}">${chart(throughput, now)}</div>`;
}

/**
 * Jobs finished and failed per minute, as stacked bars in inline SVG (no
 * script, no style attribute: the CSP allows neither inline). The SVG is
 * stretched to its box; each minute's bars carry a tooltip.
 */
function chart({ finished, failed, since }: Throughput, now: number): Html {
  const minutes = finished.length;
  const totalOk = finished.reduce((a, b) => a + b, 0);
  const totalBad = failed.reduce((a, b) => a + b, 0);
  const caption = html`<figcaption>
    <span>${minutes} min ago</span>
    <span class="legend">
      <span>${count(totalOk)} finished</span><span class="fail">${count(totalBad)} failed</span>
    </span>
    <span>now</span>
  </figcaption>`;
  if (totalOk + totalBad === 0) {
    const quiet = html`<div class="quiet">No job ended in the last ${minutes} minutes</div>`;
    return html`<figure class="chart">${quiet}${caption}</figure>`;
  }
  const [width, height] = [10, 56];
  const scale = (height - 2) / Math.max(...finished.map((ok, i) => ok + (failed[i] ?? 0)));
  const bars = finished.map((ok, i) => {
    const bad = failed[i] ?? 0;
    const x = i * width;
    const bar = (kind: string, n: number, below: number) =>
      n
        ? html`<rect class="${kind}" x="${x + 1}" y="${height - 1 - (below + n) * scale}" width="${width - 2}"
        height="${n * scale}"/>`
        : "";
    const when = i === minutes - 1 ? "this minute" : ago(since + i * 60_000, now);
    // a transparent full-height rect: the minute's tooltip shows wherever the pointer is in its column
    return html`<g><title>${when}: ${count(ok)} finished, ${count(bad)} failed</title>
      <rect x="${x}" y="0" width="${width}" height="${height}" fill="transparent"/>
      ${bar("ok", ok, 0)}${bar("fail", bad, ok)}</g>`;
  });
  const label = `Jobs per minute, the last ${minutes} minutes: ${count(totalOk)} finished, ${count(totalBad)} failed`;
  return html`<figure class="chart">
    <svg viewBox="0 0 ${minutes * width} ${height}" preserveAspectRatio="none" role="img" aria-label="${label}">
      <rect class="base" x="0" y="${height - 1}" width="${minutes * width}" height="1"/>${bars}
    </svg>
    ${caption}
  </figure>`;
}
