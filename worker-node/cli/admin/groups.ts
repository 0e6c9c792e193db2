// The admin commands about a queue's groups (flow control per tenant, user or
// API key): the groups with their counts and policies, and one group's own
// policy or pause.
import type { GroupPolicyPatch } from "../../../shared/index.ts";
import { duration, UsageError, wholeNumber, type Flags } from "./command-line.ts";
import { queueOf, type Command } from "./command.ts";
import { groupsText, policyText } from "./text.ts";

export const groups: Command = {
  synopsis: ["groups <queue> [--limit N] [--cursor C]"],
  summary: "a queue's groups, most loaded first, with their policies",
  about:
    "A page of the queue's groups (50 unless --limit says), most loaded (waiting + started) first: their counts,\n" +
    "their own policy and the one they obey with the queue's default; then the jobs without a group.\n" +
    "--cursor C goes on where the page before said.",
  args: ["queue"],
  flags: ["limit", "cursor"],
  run: async (ctx, [name], flags) => {
    const limit = flags.limit === undefined ? undefined : wholeNumber(flags.limit, "--limit");
    const page = await queueOf(ctx, name!).groups({ limit, cursor: flags.cursor });
    return { json: page, text: groupsText(name!, page) };
  },
};

export const group: Command = {
  synopsis: [
    "group <queue> <group> --concurrency N|none",
    "group <queue> <group> --max N --per <time> | --per none",
    "group <queue> <group> --pause | --resume",
  ],
  summary: "give one group its own limits, or pause it",
  about:
    "One group's own policy, over the queue's default (edgeq admin groups shows both):\n" +
    "  --concurrency N      at most N of its jobs running at once, across the fleet (none: the default's)\n" +
    "  --max N --per <time> at most N of its jobs started in any window of <time> (--per none: the default's)\n" +
    "  --pause, --resume    no worker starts its jobs until resumed; the queue's other groups go on\n" +
    "The flags combine; the queue's own limits still hold on top.",
  args: ["queue", "group"],
  flags: ["concurrency", "max", "per", "pause", "resume"],
  run: async (ctx, [name, groupName], flags) => {
    const view = await queueOf(ctx, name!).configureGroup(groupName!, patchOf(flags));
    return { json: view, text: policyText(name!, view) };
  },
};

function patchOf(flags: Flags): GroupPolicyPatch {
  const patch: GroupPolicyPatch = {};
  if (flags.concurrency !== undefined) {
    patch.concurrency = flags.concurrency === "none" ? null : wholeNumber(flags.concurrency, "--concurrency");
  }
  if (flags.per === "none") {
    if (flags.max !== undefined) throw new UsageError("--per none takes no --max");
    patch.limit = null;
  } else if (flags.max !== undefined || flags.per !== undefined) {
    if (flags.max === undefined || flags.per === undefined) throw new UsageError("--max and --per go together");
    patch.limit = { max: wholeNumber(flags.max, "--max"), perMs: duration(flags.per, "--per") };
  }
  if (flags.pause && flags.resume) throw new UsageError("--pause or --resume, not both");
  if (flags.pause) patch.paused = true;
  if (flags.resume) patch.paused = null;
  if (Object.keys(patch).length === 0) {
    throw new UsageError("say what to change: --concurrency, --max with --per, --pause or --resume", "group");
  }
  return patch;
}
