// One job in the dashboard: where it stands and how it got there (timeline,
// attempts), what it was given and what came of it (args, result, error with
// its stack, progress, meta), the steps a durable task recorded, its latest
// log lines (for admin keys), what it waits for, and its callback.
import { html } from "hono/html";
import {
  isTerminal,
  type Attempt,
  type JobError,
  type JobLog,
  type JobStatus,
  type JobView,
} from "../../shared/index.ts";
import { errorLine, ranMs } from "../../shared/display.ts";
import {
  badge,
  capitalized,
  count,
  href,
  jobLinks,
  json,
  moment,
  panel,
  plural,
  span,
  time,
  type Html,
} from "./parts.ts";
import { jobButton } from "./queue.ts";

export interface JobData {
  job: JobView;
  attempts: Attempt[];
  /** Its latest log lines: read for admin keys alone, since a line may hold a secret. */
  log: JobLog | null;
  admin: boolean;
  now: number;
  /** EDGEQ_TRACE_URL, where its trace is linked; without it the trace id is shown alone. */
  traceUrl: string | undefined;
}

/** Why a job shows no result. */
const NO_RESULT: Partial<Record<JobStatus, string>> = {
  finished: "The task returned nothing.",
  failed: "None: the job failed.",
  stopped: "None: the job was stopped.",
  canceled: "None: the job was canceled before it ran.",
};

export function jobView({ job, attempts, log, admin, now, traceUrl }: JobData): Html {
  const head = html`<header class="job-head">
    <div class="title">
      <h1>${job.id}</h1>${badge(job.status)}
      ${admin ? html`<div class="actions">${jobButton(job)}</div>` : ""}
    </div>
    <div class="meta">
      <span>task <strong>${job.task}</strong></span>
      <span>queue <a href="${href.queue(job.queue, job.status)}">${job.queue}</a></span>
      <span>${plural(job.attempts, "attempt")}</span>
    </div>
  </header>`;
  const result =
    job.result !== null ? json(job.result) : html`<p class="note">${NO_RESULT[job.status] ?? "None yet."}</p>`;
  return html`${head}
    ${progress(job)}
    ${job.error ? errorBox(job.error, job.status === "stopped" ? "Why it stopped" : "Error") : ""}
    <div class="grid2">
      <div data-status="${job.status}">${panel("Timeline", timeline(job, now))}</div>
      ${panel("Details", details(job, traceUrl))}
    </div>
    ${stepsPanel(job, now)}
    ${logPanel(log)}
    <div class="grid2">${panel("Arguments", json(job.args))}${panel("Result", result)}</div>
    ${Object.keys(job.meta).length ? panel("Meta", json(job.meta)) : ""}
    ${attemptsPanel(attempts, now)}`;
}

/** A percentage as a bar; anything else a task reported, as JSON. */
function progress(job: JobView): Html | "" {
  if (job.progress === null) return "";
  if (typeof job.progress !== "number") return panel("Progress", json(job.progress));
  const value = Math.max(0, Math.min(100, job.progress));
  return html`<div class="progress" data-progress="${value}">
    <span>Progress</span><progress max="100" value="${value}" aria-label="progress"></progress><span>${value}%</span>
  </div>`;
}

function errorBox(error: JobError, title: string): Html {
  return html`<section class="card error-box" aria-label="${title}"><header><h2>${title}</h2></header>
    <div class="body">
      <p class="msg">${errorLine(error)}</p>
      ${error.stack ? html`<pre class="code stack">${error.stack}</pre>` : ""}
    </div>
  </section>`;
}

function timeline(job: JobView, now: number): Html {
  const { createdAt, enqueuedAt, startedAt, endedAt } = job;
  const steps: [label: string, at: number | null, note: string][] = [
    ["Created", createdAt, ""],
    [
      "Enqueued",
      enqueuedAt,
      enqueuedAt !== null && enqueuedAt > createdAt ? `after ${span(enqueuedAt - createdAt)}` : "",
    ],
    ["Started", startedAt, startedAt !== null ? `waited ${span(startedAt - (enqueuedAt ?? createdAt))}` : ""],
  ];
  if (isTerminal(job.status)) {
    const ran = ranMs(job);
    steps.push([capitalized(job.status), endedAt, ran === null ? "" : `ran ${span(ran)}`]);
  } else if (job.status === "started" && startedAt !== null) {
    steps.push(["Running", null, `for ${span(now - startedAt)}`]);
  } else {
    steps.push(["Ended", null, ""]);
  }
  return html`<ol class="timeline">${steps.map(([label, at, note]) => {
    const when =
      at === null
        ? html`<span class="${note ? "" : "faint"}">${note || "—"}</span>`
        : html`${time(at, now)}${note ? html` <span class="span">· ${note}</span>` : ""}
            <span class="at">${moment(at)}</span>`;
    const state = at !== null ? "done" : label === "Running" ? "now" : "";
    return html`<li class="${state}"><span class="what">${label}</span><span>${when}</span></li>`;
  })}</ol>`;
}

/** A durable job's recorded steps, in order, as a timeline: when each was recorded and how long it took. */
function stepsPanel(job: JobView, now: number): Html | "" {
  if (!job.steps?.length) return "";
  const items = job.steps.map((step) => {
    const took = html`<span class="span">· took ${span(step.endedAt - step.startedAt)}</span>`;
    const when = html`${time(step.endedAt, now)} ${took}<span class="at">${moment(step.endedAt)}</span>`;
    return html`<li class="done"><span class="what mono">${step.n}. ${step.id}</span><span>${when}</span></li>`;
  });
  return panel(`Steps (${job.steps.length})`, html`<ol class="timeline steps">${items}</ol>`);
}

/**
 * The job's latest log lines, oldest first, as a terminal shows them: the time (UTC, to the millisecond), the
 * attempt, a ctx.logger line's level, the text. The page keeps it scrolled to the end while it is read there.
 */
function logPanel(log: JobLog | null): Html | "" {
  if (!log?.total) return "";
  const rows = log.lines.map((line) => {
    const at = new Date(line.at).toISOString();
    return html`<li data-key="${line.n}" data-level="${line.level ?? ""}">
      <time datetime="${at}" title="${at}">${at.slice(11, 23)}</time><span class="attempt" title="attempt ${
        line.attempt
      }">#${line.attempt}</span><span class="text">${
        line.level ? html`<span class="level">${line.level}</span> ` : ""
      }${line.text}</span></li>`;
  });
  const shown = log.lines.length < log.total - log.dropped ? `the latest ${count(log.lines.length)} · ` : "";
  const dropped = log.dropped ? ` · ${count(log.dropped)} dropped` : "";
  const note = `${shown}${plural(log.total, "line")} written${dropped}`;
  return panel("Log", html`<ol class="log" tabindex="0" aria-label="log lines">${rows}</ol>`, { note, flush: true });
}

/** What a suspended durable job waits for: an event until its timeout, or the child job it invoked. */
function waitsFor(job: JobView): Html | "" {
  const waits = job.waitingFor;
  if (!waits) return "";
  if ("child" in waits) return html`<dt>Waits for</dt><dd>${jobLinks([waits.child])}</dd>`;
  const key = waits.key ? html` · key <span class="mono">${waits.key}</span>` : "";
  const event = html`event <span class="mono">${waits.event}</span>${key}`;
  return html`<dt>Waits for</dt><dd>${event} until ${moment(waits.until)}</dd>`;
}

function details(job: JobView, traceUrl: string | undefined): Html {
  const { callback, traceId } = job;
  return html`<dl class="facts">
    <dt>Task</dt><dd class="mono">${job.task}</dd>
    <dt>Queue</dt><dd><a href="${href.queue(job.queue)}">${job.queue}</a></dd>
    <dt>Attempts</dt><dd>${job.attempts}</dd>
    ${job.group ? html`<dt>Group</dt><dd class="mono">${job.group}</dd>` : ""}
    ${waitsFor(job)}
    ${traceId ? html`<dt>Trace</dt><dd class="mono">${traceLink(traceId, traceUrl)}</dd>` : ""}
    <dt>Depends on</dt>
    <dd>${job.dependsOn.length ? jobLinks(job.dependsOn) : html`<span class="faint">nothing</span>`}</dd>
    <dt>Callback</dt><dd>${
      callback
        ? html`<span class="chip">${callback.status}</span> after ${plural(callback.attempts, "try", "tries")}${
            callback.lastError ? html`<div class="note">last error: ${callback.lastError}</div>` : ""
          }`
        : html`<span class="faint">none</span>`
    }</dd>
  </dl>`;
}

/** The trace id, linked where EDGEQ_TRACE_URL says (it is 32 hex digits: nothing in it can leave the template). */
function traceLink(traceId: string, traceUrl: string | undefined): Html | string {
  if (!traceUrl) return traceId;
  const url = traceUrl.replaceAll("{traceId}", traceId);
  return html`<a class="trace" target="_blank" rel="noreferrer" href="${url}">${traceId}</a>`;
}

function attemptsPanel(attempts: Attempt[], now: number): Html {
  if (!attempts.length) return panel("Attempts", html`<p class="note">It has not started yet.</p>`);
  const rows = attempts.map((a) => {
    const ran = a.startedAt !== null ? span((a.endedAt ?? now) - a.startedAt) : "—";
    const outcome = a.error
      ? html`<details id="attempt-${a.attempt}"><summary class="err">${errorLine(a.error)}</summary>${
          a.error.stack ? html`<pre class="code">${a.error.stack}</pre>` : ""
        }</details>`
      : a.status === "finished"
        ? html`<span class="muted">returned</span>`
        : html`<span class="faint">—</span>`;
    return html`<tr data-key="${a.attempt}">
      <td class="num">${a.attempt}</td><td>${badge(a.status)}</td>
      <td class="hide-narrow when">${time(a.startedAt, now)}</td><td class="num">${ran}</td>
      <td class="hide-narrow mono">${a.worker ?? "—"}</td><td>${outcome}</td>
    </tr>`;
  });
  const table = html`<table>
    <thead><tr><th class="num">#</th><th>Status</th><th class="hide-narrow">Started</th><th class="num">Ran</th>
      <th class="hide-narrow">Worker</th><th>Outcome</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
  return panel("Attempts", table, { note: "newest first", flush: true });
}
