// The scripts about a queue's groups, typed: one group's own policy, and the
// listing of a queue's groups with their loads and policies (flow control;
// the claim in turn across groups is claim_jobs.lua's).
import * as lua from "./generated.ts";
import { Transition, asArray } from "./transition.ts";

/** What limits one group within its queue (the queue's own settings hold on top). */
export interface GroupPolicy {
  /** At most this many of the group's jobs started at once, across the fleet. */
  concurrency?: number;
  /** At most `max` of the group's jobs started in any window of `perMs`. */
  limit?: { max: number; perMs: number };
  /** No worker claims the group's jobs; the queue's other groups go on. */
  paused?: boolean;
}

/** How many of a group's jobs wait and how many are started. */
export interface GroupLoad {
  name: string;
  waiting: number;
  started: number;
}

/** A policy as stored; cjson writes {} as []. */
export function policyOf(raw: unknown): GroupPolicy {
  return !raw || Array.isArray(raw) ? {} : (raw as GroupPolicy);
}

/** A change of one group's own policy: a field set to null is removed. */
export type GroupPolicyPatch = { [K in keyof GroupPolicy]?: GroupPolicy[K] | null };

export const configureGroup = new Transition(
  lua.configureGroup,
  (p: { queue: string; group: string; policy: GroupPolicyPatch }) => [p.queue, p.group, JSON.stringify(p.policy)],
  (reply) => {
    const r = reply as { policy?: unknown; effective?: unknown };
    return { policy: policyOf(r.policy), effective: policyOf(r.effective) };
  },
);

/** A group as a listing shows it: its load, its own policy and the one it obeys (with the queue's default). */
export interface GroupInfo extends GroupLoad {
  policy: GroupPolicy;
  effective: GroupPolicy;
}

export interface GroupsPage {
  groups: GroupInfo[];
  /** Groups in the queue's index (with jobs, or with a policy of their own). */
  total: number;
  /** Where the next page starts (groups listed so far); null on the last. */
  next: number | null;
  /** With the first page: the queue's jobs without a group, and its default policy. */
  ungrouped?: { waiting: number; started: number };
  default?: GroupPolicy;
}

export const groups = new Transition(
  lua.groups,
  (p: { queue: string; limit: number; offset: number }) => [p.queue, p.limit, p.offset],
  (reply): GroupsPage => {
    const r = reply as { groups?: unknown; total: number; next?: number; ungrouped?: GroupLoad; default?: unknown };
    return {
      groups: asArray(r.groups as GroupInfo[]).map((g) => ({
        name: g.name,
        waiting: g.waiting,
        started: g.started,
        policy: policyOf(g.policy),
        effective: policyOf(g.effective),
      })),
      total: r.total,
      next: r.next ?? null,
      ...(r.ungrouped && { ungrouped: r.ungrouped, default: policyOf(r.default) }),
    };
  },
);
