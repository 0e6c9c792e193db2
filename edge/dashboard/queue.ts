// One queue in the dashboard: a tab per status with a page of its jobs and
// the actions on them, and under them its groups (groups.ts) when it has any;
// beside them the last hour, the queue's settings, its workers, schedules and
// declared tasks.
import { html } from "hono/html";
import {
  isTerminal,
  STATUSES,
  type GroupsListing,
  type JobPage,
  type JobStatus,
  type JobView,
  type QueueInfo,
  type TerminalStatus,
} from "../../shared/index.ts";
import { errorLine, LISTED_AT, ranMs } from "../../shared/display.ts";
import { groupsPanel } from "./groups.ts";
import {
  api,
  button,
  capitalized,
  chartSlot,
  count,
  href,
  jobLinks,
  pager,
  panel,
  limitChips,
  pausedBadge,
  plural,
  span,
  time,
  type Html,
  type Throughput,
} from "./parts.ts";

export interface QueueData {
  info: QueueInfo;
  status: JobStatus;
  page: JobPage;
  cursor?: string;
  /** A page of its groups, and where it starts (undefined on the first). */
  groups: GroupsListing;
  groupsCursor?: string;
  throughput?: Throughput;
  admin: boolean;
  now: number;
}

/** The tab a queue opens on, when none is asked for: where an operator is likely needed first. */
const FIRST_TABS: JobStatus[] = [
  "failed",
  "started",
  "queued",
  "awaiting",
  "scheduled",
  "deferred",
  "stopped",
  "finished",
];

export function firstTab(info: QueueInfo): JobStatus {
  return FIRST_TABS.find((s) => info.counts[s] > 0) ?? "queued";
}

export function queueView(data: QueueData): Html {
  const { info, status, page, cursor, groups, groupsCursor, throughput, admin, now } = data;
  const name = info.name;
  const head = html`<header class="page-head">
    <h1>${name}</h1>${info.paused ? pausedBadge : ""}${limitChips(info)}
    ${admin ? html`<div class="actions">${pauseToggle(info)}${emptyButton(info)}</div>` : ""}
  </header>`;
  const tabs = html`<nav class="tabs" aria-label="Jobs by status">${STATUSES.map(
    (s) => html`<a class="tab${info.counts[s] ? "" : " zero"}" data-status="${s}" href="${href.queue(name, s)}"
      ${s === status ? html`aria-current="page"` : ""}>${s}<span class="n">${count(info.counts[s])}</span></a>`,
  )}</nav>`;
  const next = page.nextCursor && href.queue(name, status, page.nextCursor);
  const listing = html`<section class="card" aria-label="${status} jobs">
    ${tabs}
    ${admin && isTerminal(status) ? toolbar(info, status) : ""}
    ${
      page.jobs.length
        ? jobsTable(page.jobs, status, admin, now)
        : html`<div class="empty">No ${status} jobs${cursor ? " past this page" : ""}.</div>`
    }
    ${pager(href.queue(name, status), next, cursor !== undefined)}
  </section>`;
  const grouped = groupsPanel({
    queue: name,
    status,
    jobsCursor: cursor,
    listing: groups,
    cursor: groupsCursor,
    admin,
  });
  return html`${head}<div class="split"><div class="column">${listing}${grouped}</div><aside class="side">
    ${panel("Last hour", chartSlot(name, throughput, now))}
    ${settings(info, admin)}
    ${workers(info, now)}
    ${schedules(info, now)}
    ${tasks(info)}
  </aside></div>`;
}

/** Pause a running queue, resume a paused one. */
export function pauseToggle(info: QueueInfo, small = false): Html {
  const name = info.name;
  const waiting = info.counts.queued ? ` Workers start its ${plural(info.counts.queued, "queued job")} at once.` : "";
  return info.paused
    ? button({
        request: `POST ${api.queue(name)}/resume`,
        label: "Resume",
        confirm: `Resume queue “${name}”?${waiting}`,
        done: `Resumed ${name}`,
        small,
      })
    : button({
        request: `POST ${api.queue(name)}/pause`,
        label: "Pause",
        confirm: `Pause queue “${name}”? No worker starts its jobs until it is resumed; it still takes new ones.`,
        done: `Paused ${name}`,
        small,
      });
}

function emptyButton(info: QueueInfo): Html | "" {
  if (!info.counts.queued) return "";
  return button({
    request: `POST ${api.queue(info.name)}/empty`,
    label: "Empty",
    confirm:
      `Cancel all ${plural(info.counts.queued, "queued job")} of “${info.name}”? ` +
      "Scheduled, deferred and running jobs stay.",
    done: "Canceled {count} queued {jobs}",
    danger: true,
    bulk: true,
  });
}

const CLEAN_AGES: [label: string, seconds: number][] = [
  ["1 hour", 3600],
  ["1 day", 86_400],
  ["7 days", 7 * 86_400],
  ["30 days", 30 * 86_400],
];

/** What an admin does with a whole tab of ended jobs: put back those that did not finish, delete old ones. */
function toolbar(info: QueueInfo, status: TerminalStatus): Html {
  const n = info.counts[status];
  const requeue =
    status !== "finished" && n > 0
      ? button({
          request: `POST ${api.queue(info.name)}/requeue?status=${status}`,
          label: `Requeue all ${status}`,
          confirm: `Put all ${plural(n, `${status} job`)} of “${info.name}” back in the queue, as new?`,
          done: `Requeued {count} ${status} {jobs}`,
          bulk: true,
          small: true,
        })
      : "";
  const clean = html`<form data-act="POST ${api.queue(info.name)}/clean" data-send="query" data-bulk
      data-confirm="Delete the ${status} jobs of “${info.name}” that ended longer ago than chosen? There is no undo."
      data-done="Deleted {count} ${status} {jobs}">
    <input type="hidden" name="status" value="${status}">
    <label for="clean-age">Older than</label>
    <select id="clean-age" name="olderThanSec">${CLEAN_AGES.map(
      ([label, seconds]) =>
        html`<option value="${seconds}" ${seconds === 7 * 86_400 ? "selected" : ""}>${label}</option>`,
    )}</select>
    <button type="submit" class="btn small danger">Delete</button>
  </form>`;
  return html`<div class="toolbar">${requeue}<span class="grow"></span>${clean}</div>`;
}

function jobsTable(jobs: JobView[], status: JobStatus, admin: boolean, now: number): Html {
  const [listed, at] = LISTED_AT[status];
  const label = capitalized(listed);
  const ran = status === "finished" || status === "failed";
  const running = status === "started";
  const rows = jobs.map((j) => {
    // the error under the id: the widest column holds what a failed row is about
    const error = j.error && errorLine(j.error);
    const ranFor = ranMs(j);
    const took = ranFor === null ? "—" : span(ranFor);
    return html`<tr data-key="${j.id}">
      <td class="id"><a href="${href.job(j.id)}" title="${j.id}">${j.id}</a>${
        error ? html`<div class="err" title="${error}">${error}</div>` : ""
      }</td>
      <td>${j.task}</td>
      <td class="num hide-narrow">${j.attempts}</td>
      <td class="when">${time(at(j), now)}</td>
      ${ran ? html`<td class="num hide-narrow">${took}</td>` : ""}
      ${running ? html`<td class="num">${progressText(j)}</td>` : ""}
      ${admin ? html`<td class="act">${jobButton(j, true)}</td>` : ""}
    </tr>`;
  });
  return html`<div class="table-wrap"><table class="jobs">
    <thead><tr><th class="id">Job</th><th>Task</th><th class="num hide-narrow">Attempts</th><th>${label}</th>
      ${ran ? html`<th class="num hide-narrow">Ran</th>` : ""}${running ? html`<th class="num">Progress</th>` : ""}
      ${admin ? html`<th class="act"><span hidden>Actions</span></th>` : ""}
    </tr></thead>
    <tbody>${rows}</tbody>
  </table></div>`;
}

function progressText(job: JobView): string {
  if (typeof job.progress === "number") return `${job.progress}%`;
  return job.progress === null ? "—" : JSON.stringify(job.progress);
}

/** Cancel (or stop) a waiting or running job; requeue an ended one that did not finish. */
export function jobButton(job: JobView, small = false): Html | "" {
  if (job.status === "finished") return "";
  if (isTerminal(job.status)) {
    return button({
      request: `POST ${api.job(job.id)}/requeue`,
      label: "Requeue",
      confirm: `Put job ${job.id} back in “${job.queue}”, as new?`,
      done: "Requeued the job",
      small,
    });
  }
  const started = job.status === "started";
  return button({
    request: `DELETE ${api.job(job.id)}`,
    label: started ? "Stop" : "Cancel",
    confirm: started
      ? `Stop job ${job.id}? Its worker is asked to end it now; it ends as stopped.`
      : `Cancel job ${job.id}? It will not run.`,
    done: started ? "Asked its worker to stop the job" : "Canceled the job",
    danger: true,
    small,
  });
}

/** What a queue keeps of its ended jobs (settings.keep), in words. */
function kept(keep: QueueInfo["keep"]): string {
  const parts = (["finished", "failed"] as const)
    .filter((status) => keep?.[status] !== undefined)
    .map((status) => `the latest ${count(keep![status]!)} ${status}`);
  return parts.length ? parts.join(", ") : "every ended job, until its TTL";
}

function settings(info: QueueInfo, admin: boolean): Html {
  const limit = info.limit;
  const state = html`<dt>State</dt><dd>${info.paused ? "paused: no worker starts its jobs" : "running"}</dd>`;
  if (!admin) {
    return panel(
      "Settings",
      html`<dl class="facts">${state}
        <dt>Rate limit</dt><dd>${limit ? `at most ${count(limit.max)} started per ${span(limit.perMs)}` : "none"}</dd>
        <dt>Concurrency</dt><dd>${info.concurrency ? `at most ${count(info.concurrency)} at once` : "none"}</dd>
        <dt>Keeps</dt><dd>${kept(info.keep)}</dd>
      </dl>`,
    );
  }
  const form = html`<form class="settings" data-act="PATCH ${api.queue(info.name)}" data-send="json"
      data-done="Saved the settings of ${info.name}">
    <div class="field">Rate limit
      <div class="row">
        <label class="field sub">jobs at most
          <input name="limit.max" type="number" min="1" inputmode="numeric" placeholder="none"
            value="${limit?.max ?? ""}">
        </label>
        <label class="field sub">per ms
          <input name="limit.perMs" type="number" min="1" inputmode="numeric" placeholder="none"
            value="${limit?.perMs ?? ""}">
        </label>
      </div>
    </div>
    <label class="field">Concurrency, fleet-wide
      <input name="concurrency" type="number" min="1" inputmode="numeric" placeholder="no limit"
        value="${info.concurrency ?? ""}">
    </label>
    <div class="field">Keep only the latest
      <div class="row">
        <label class="field sub">finished jobs
          <input name="keep.finished" data-optional type="number" min="1" inputmode="numeric" placeholder="all"
            value="${info.keep?.finished ?? ""}">
        </label>
        <label class="field sub">failed jobs
          <input name="keep.failed" data-optional type="number" min="1" inputmode="numeric" placeholder="all"
            value="${info.keep?.failed ?? ""}">
        </label>
      </div>
    </div>
    <p class="note">Empty fields remove a limit. Every worker obeys at its next claim; past a count, the oldest
      ended jobs are deleted as jobs end.</p>
    <div class="actions"><button type="submit" class="btn primary small">Save settings</button></div>
  </form>`;
  return panel("Settings", html`<div class="settings"><dl class="facts">${state}</dl>${form}</div>`);
}

function workers(info: QueueInfo, now: number): Html {
  const list = info.workers;
  if (!list.length) {
    return panel("Workers", html`<p class="note">No worker listens on this queue: its jobs wait until one does.</p>`);
  }
  // keys without admin see each worker's state and heartbeat only
  const entries = list.map(
    (w) => html`<dt><span class="state" data-state="${w.state}">${w.state}</span></dt>
      <dd>${w.name ? html`<span class="mono">${w.name}</span>` : ""}${
        w.currentJobs?.length ? jobLinks(w.currentJobs) : ""
      }<div class="note">heartbeat ${time(w.heartbeat, now)}</div></dd>`,
  );
  return panel("Workers", html`<dl class="facts">${entries}</dl>`, { note: count(list.length) });
}

function schedules(info: QueueInfo, now: number): Html | "" {
  if (!info.schedules?.length) return "";
  const entries = info.schedules.map(
    (s) => html`<dt class="mono">${s.name}</dt>
      <dd>next ${time(s.nextAt, now)}${s.lastAt ? html`, last ${time(s.lastAt, now)}` : ""}</dd>`,
  );
  return panel("Schedules", html`<dl class="facts">${entries}</dl>`);
}

function tasks(info: QueueInfo): Html | "" {
  if (!info.tasks?.length) return "";
  const names = info.tasks.map(
    (t) => html`<span title="${t.args ? JSON.stringify(t.args) : "any args"}">${t.name}</span>`,
  );
  return panel("Tasks", html`<div class="deps">${names}</div>`, { note: "declared by its workers" });
}
