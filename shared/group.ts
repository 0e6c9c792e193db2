// Groups within a queue, for producers and operators: the policies that limit
// each group (a tenant, a user, an API key) and the listing of a queue's
// groups. Claiming in turn across groups is the claim script's (see
// shared/scripts/includes/claim_jobs.lua); here are the checks and the calls.
import { z } from "zod";
import { InvalidPolicyError, ValidationError } from "./errors.ts";
import { issuesOf, parseOrThrow } from "./errors.ts";
import { groupNameSchema } from "./names.ts";
import type { Keys } from "./keys.ts";
import type { ScriptRunner } from "./script.ts";
import * as scripts from "./scripts/index.ts";
import type { GroupInfo, GroupPolicy, GroupPolicyPatch } from "./scripts/index.ts";

const DAY_MS = 24 * 3600 * 1000;

/** At most `max` starts in any window of `perMs`: a queue's limit, and a group's. */
export const limitSchema = z.strictObject({
  max: z.number().int().min(1).max(1_000_000),
  perMs: z.number().int().min(1).max(DAY_MS).describe("the window, 1 ms to a day"),
});

export const concurrencySchema = z.number().int().min(1).max(100_000);

/** A group's own policy: null removes a field, so the queue's default applies again. */
export const groupPolicySchema = z.strictObject({
  concurrency: concurrencySchema.nullish(),
  limit: limitSchema.nullish(),
  paused: z.boolean().nullish(),
});

/** The default policy of each group in a queue (its settings' `groups`). */
export const defaultPolicySchema = z.strictObject({
  concurrency: concurrencySchema.optional(),
  limit: limitSchema.optional(),
});

const RANGE = new Set(["too_small", "too_big"]);

/**
 * Parses limits: a number out of its range is well-formed but unusable, an InvalidPolicyError (422) that names it;
 * anything else malformed is a ValidationError (400).
 */
export function parsePolicy<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = issuesOf(parsed.error);
  if (parsed.error.issues.every((issue) => RANGE.has(issue.code))) throw new InvalidPolicyError(issues);
  throw new ValidationError(issues);
}

/** A group's own policy after a change, and the one it obeys (over the queue's default). */
export interface GroupPolicyView {
  group: string;
  policy: GroupPolicy;
  effective: GroupPolicy;
}

export async function configureGroup(
  redis: ScriptRunner,
  keys: Keys,
  queue: string,
  group: string,
  patch: GroupPolicyPatch,
): Promise<GroupPolicyView> {
  parseOrThrow(groupNameSchema, group, "group");
  const policy = parsePolicy(groupPolicySchema, patch);
  // false and null both remove paused, as they do for a queue
  if (policy.paused === false) policy.paused = null;
  return { group, ...(await scripts.configureGroup.run(redis, keys, { queue, group, policy })) };
}

export interface GroupsListing {
  groups: GroupInfo[];
  /** Groups in the queue's index: with jobs waiting or started, or with a policy of their own. */
  total: number;
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
  /** With the first page: the queue's jobs without a group, and the default policy of its groups. */
  ungrouped?: { waiting: number; started: number };
  default?: GroupPolicy;
}

const listingSchema = z.object({
  limit: z.number().int().min(1).max(200).optional(),
  cursor: z
    .string()
    .regex(/^\d{1,9}$/, "is not a cursor this listing gave out")
    .nullish(),
});

/**
 * A page of a queue's groups, most loaded (waiting + started) first. The order moves as jobs come and go, so a
 * group may show on two pages or on none of a walk; each page costs O(log n + limit).
 */
export async function listGroups(
  redis: ScriptRunner,
  keys: Keys,
  queue: string,
  options: { limit?: number; cursor?: string | null } = {},
): Promise<GroupsListing> {
  const { limit = 50, cursor } = parseOrThrow(listingSchema, options);
  const { next, ...page } = await scripts.groups.run(redis, keys, { queue, limit, offset: Number(cursor ?? 0) });
  return { ...page, nextCursor: next === null ? null : String(next) };
}
