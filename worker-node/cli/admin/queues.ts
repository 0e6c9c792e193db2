// The admin commands about queues as a whole: what every queue holds and who
// works it, the settings workers obey across the fleet (paused, a rate
// limit, a concurrency limit), how many ended jobs it keeps, and the events
// its durable jobs await.
import { describeQueues, type QueueInfo, type QueuesPage, type SettingsPatch } from "../../../shared/index.ts";
import { noun } from "../../../shared/display.ts";
import { duration, jsonFlag, required, UsageError, wholeNumber } from "./command-line.ts";
import { queueOf, type Command, type Context, type Output } from "./command.ts";
import { queuesText } from "./text.ts";

export const queues: Command = {
  synopsis: ["queues"],
  summary: "jobs per status, paused, limits and workers of every queue",
  about:
    "Every queue in use: its jobs per status, whether it is paused, its limits and its workers;\n" +
    "then the live workers, and the callback outbox.",
  args: [],
  flags: [],
  run: async (ctx) => {
    const page = await allQueues(ctx);
    return { json: page, text: queuesText(page, ctx.prefix, ctx.now) };
  },
};

export const pause: Command = {
  synopsis: ["pause <queue>"],
  summary: "stop workers starting the queue's jobs",
  about: "Pauses a queue: across the fleet, no worker starts one of its jobs until it is resumed. It still takes jobs.",
  args: ["queue"],
  flags: [],
  run: (ctx, [name]) =>
    settle(ctx, name!, { paused: true }, `paused queue "${name}": no worker starts its jobs until resume`),
};

export const resume: Command = {
  synopsis: ["resume <queue>"],
  summary: "let workers start the queue's jobs again",
  about: "Resumes a paused queue.",
  args: ["queue"],
  flags: [],
  run: (ctx, [name]) => settle(ctx, name!, { paused: null }, `resumed queue "${name}"`),
};

export const limit: Command = {
  synopsis: ["limit <queue> --max N --per <time>", "limit <queue> --off"],
  summary: "limit how many jobs start per time",
  about:
    "At most N of the queue's jobs started in any window of <time> (500ms, 1s, 1m), across the fleet.\n" +
    "--off removes the limit.",
  args: ["queue"],
  flags: ["max", "per", "off"],
  run: (ctx, [name], flags) => {
    if (flags.off) {
      if (flags.max !== undefined || flags.per !== undefined) throw new UsageError("--off takes no --max or --per");
      return settle(ctx, name!, { limit: null }, `queue "${name}" has no rate limit now`);
    }
    const max = wholeNumber(required(flags.max, "--max"), "--max");
    const per = required(flags.per, "--per");
    const text = `queue "${name}": at most ${max} ${noun(max, "job")} started per ${per}, across the fleet`;
    return settle(ctx, name!, { limit: { max, perMs: duration(per, "--per") } }, text);
  },
};

export const concurrency: Command = {
  synopsis: ["concurrency <queue> N", "concurrency <queue> --off"],
  summary: "limit how many jobs run at once",
  about: "At most N of the queue's jobs running at once, across the fleet. --off removes the limit.",
  args: ["queue", "N"],
  flags: ["off"],
  run: (ctx, [name, n], flags) => {
    if (flags.off) return settle(ctx, name!, { concurrency: null }, `queue "${name}" has no concurrency limit now`);
    const concurrency = wholeNumber(required(n, "N"), "N");
    return settle(ctx, name!, { concurrency }, `queue "${name}": at most ${concurrency} running at once`);
  },
};

export const keep: Command = {
  synopsis: ["keep <queue> [--finished N] [--failed N]", "keep <queue> --off"],
  summary: "keep only the latest N finished (failed) jobs",
  about:
    "Keeps only the queue's latest N finished jobs (--finished) and failed jobs (--failed), as BullMQ's\n" +
    "removeOnComplete: { count }; the oldest past N are deleted as jobs end, beside the TTLs. A flag left out\n" +
    "keeps its current value; --off keeps them all again. Without flags it shows what the queue keeps.",
  args: ["queue"],
  flags: ["finished", "failed", "off"],
  run: async (ctx, [name], flags) => {
    const queue = queueOf(ctx, name!);
    const given = (["finished", "failed"] as const).filter((status) => flags[status] !== undefined);
    if (flags.off) {
      if (given.length) throw new UsageError("--off takes no --finished or --failed");
      return settle(ctx, name!, { keep: null }, `queue "${name}" keeps every ended job until its TTL now`);
    }
    const kept = (await queue.info()).keep ?? {};
    if (given.length === 0) return { json: kept, text: keptText(name!, kept) };
    const patch = { ...kept };
    for (const status of given) patch[status] = wholeNumber(flags[status]!, `--${status}`);
    return settle(ctx, name!, { keep: patch }, keptText(name!, patch));
  },
};

/** What a queue keeps of its ended jobs, in words. */
function keptText(name: string, kept: { finished?: number; failed?: number }): string {
  const parts = (["finished", "failed"] as const)
    .filter((status) => kept[status] !== undefined)
    .map((status) => `the latest ${kept[status]} ${status}`);
  return parts.length
    ? `queue "${name}" keeps ${parts.join(" and ")} jobs`
    : `queue "${name}" keeps every ended job until its TTL`;
}

export const event: Command = {
  synopsis: ["event <queue> <event> [--key K] [--data JSON]"],
  summary: "send an event: the queue's jobs awaiting it go on",
  about:
    "Sends an event to a queue: its jobs that await it (ctx.waitForEvent) with this key, and those that await it\n" +
    "whatever its key, go on with --data (JSON; null without it). An event no job awaits is dropped.",
  args: ["queue", "event"],
  flags: ["key", "data"],
  run: async (ctx, [name, eventName], flags) => {
    const data = flags.data === undefined ? undefined : jsonFlag(flags.data, "--data");
    const sent = await queueOf(ctx, name!).sendEvent(eventName!, { key: flags.key, data });
    const text = `event "${eventName}" sent to queue "${name}": ${sent.resumed} ${noun(sent.resumed, "job")} resumed`;
    return { json: sent, text };
  },
};

/** Every page of queues in use (a CLI may read them all; the edge pages them). */
async function allQueues(ctx: Context): Promise<QueuesPage> {
  const queues: QueueInfo[] = [];
  let page = await describeQueues(ctx.redis, ctx.keys);
  queues.push(...page.queues);
  while (page.nextCursor) {
    page = await describeQueues(ctx.redis, ctx.keys, { cursor: page.nextCursor });
    queues.push(...page.queues);
  }
  return { queues, nextCursor: null, outbox: page.outbox };
}

/** Changes one setting and answers with the queue as it is then. */
async function settle(ctx: Context, name: string, patch: SettingsPatch, text: string): Promise<Output> {
  const queue = queueOf(ctx, name);
  await queue.configure(patch);
  return { json: await queue.info(), text };
}
