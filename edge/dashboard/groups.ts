// A queue's groups on its page (flow control per tenant, user or API key):
// the jobs without a group and the policy each group has by default, then a
// page of the groups, most loaded first, with their counts, own policy and the
// policy they obey; for admin keys, a pause or resume per group. Policies are
// worded as the admin CLI words them (shared/display.ts).
import { html } from "hono/html";
import type { GroupInfo, GroupPolicy, GroupsListing, JobStatus } from "../../shared/index.ts";
import { policyWords } from "../../shared/display.ts";
import { api, button, count, href, pager, pausedBadge, plural, span, type Html } from "./parts.ts";

export interface GroupsData {
  queue: string;
  /** The queue's tab and page of jobs, kept by the links that page the groups. */
  status: JobStatus;
  jobsCursor?: string;
  listing: GroupsListing;
  /** Where this page of groups starts; undefined on the first. */
  cursor?: string;
  admin: boolean;
}

/**
 * The Groups section, or nothing for a queue that has never used groups: none listed (with jobs or a policy of
 * their own) and no default policy. The paused state is a badge beside the name, so the policies list limits only;
 * a phone shows the names, counts and buttons.
 */
export function groupsPanel({ queue, status, jobsCursor, listing, cursor, admin }: GroupsData): Html | "" {
  if (!listing.total && !limits(listing.default ?? {}, "") && cursor === undefined) return "";
  const rows = listing.groups.map(
    (g) => html`<tr data-key="${g.name}">
      <td class="name"><div class="group-name"><span class="text" title="${g.name}">${g.name}</span>${
        g.effective.paused ? pausedBadge : ""
      }</div></td>
      <td class="num${g.waiting ? "" : " zero"}">${count(g.waiting)}</td>
      <td class="num${g.started ? "" : " zero"}">${count(g.started)}</td>
      <td class="hide-narrow">${limits(g.policy, html`<span class="faint">default</span>`)}</td>
      <td class="hide-narrow">${limits(g.effective, html`<span class="faint">no limit</span>`)}</td>
      ${admin ? html`<td class="act">${pauseToggle(queue, g)}</td>` : ""}
    </tr>`,
  );
  const table = html`<div class="table-wrap"><table class="groups">
    <thead><tr><th class="name">Group</th><th class="num">Waiting</th><th class="num">Started</th>
      <th class="hide-narrow">Own policy</th><th class="hide-narrow">Obeys</th>
      ${admin ? html`<th class="act"><span hidden>Actions</span></th>` : ""}
    </tr></thead>
    <tbody>${rows}</tbody>
  </table></div>`;
  const next = listing.nextCursor && href.queue(queue, status, jobsCursor, listing.nextCursor);
  return html`<section class="card" aria-label="Groups">
    <header><h2>Groups</h2><span class="muted">${plural(listing.total, "group")}, most loaded first</span></header>
    ${summary(listing)}
    ${
      listing.groups.length
        ? table
        : html`<div class="empty">No groups${cursor === undefined ? " with jobs now" : " past this page"}.</div>`
    }
    ${pager(href.queue(queue, status, jobsCursor), next, cursor !== undefined)}
  </section>`;
}

/** With the first page: the jobs that take their turn as one group of their own, and each group's default. */
function summary({ ungrouped, default: defaults }: GroupsListing): Html | "" {
  if (!ungrouped) return "";
  const { waiting, started } = ungrouped;
  return html`<dl class="group-summary">
    <div><dt>Without a group</dt><dd>${count(waiting)} waiting · ${count(started)} started</dd></div>
    <div><dt>Each group by default</dt><dd>${limits(defaults ?? {}, "no limit")}</dd></div>
  </dl>`;
}

/** A policy's limits in words, or what stands for none. */
function limits(policy: GroupPolicy, none: Html | string): Html | string {
  return policyWords({ limit: policy.limit, concurrency: policy.concurrency }, span) || none;
}

/** Pause a group, resume a paused one: its own policy's `paused`, through PATCH …/groups/:group. */
function pauseToggle(queue: string, g: GroupInfo): Html {
  const request = `PATCH ${api.group(queue, g.name)}`;
  if (g.effective.paused) {
    const waiting = g.waiting ? ` Workers start its ${plural(g.waiting, "waiting job")} in turn with the others.` : "";
    return button({
      request,
      body: { paused: false },
      label: "Resume",
      confirm: `Resume group “${g.name}” of “${queue}”?${waiting}`,
      done: `Resumed group ${g.name}`,
      small: true,
    });
  }
  return button({
    request,
    body: { paused: true },
    label: "Pause",
    confirm:
      `Pause group “${g.name}” of “${queue}”? No worker starts its jobs until it is resumed; ` +
      "the queue's other groups go on.",
    done: `Paused group ${g.name}`,
    small: true,
  });
}
