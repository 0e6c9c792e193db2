// The admin commands about jobs: a page of a queue's jobs, one job and its
// attempts, and what an on-call engineer does to them: cancel, requeue, empty
// a queue, delete old ended ones.
import { STATUSES, TERMINAL_STATUSES } from "../../../shared/index.ts";
import { noun } from "../../../shared/display.ts";
import { duration, oneOf, required, UsageError, wholeNumber } from "./command-line.ts";
import { findJob, queueOf, type Command } from "./command.ts";
import { attemptsTable, jobsTable, jobText } from "./text.ts";

const REQUEUABLE = ["failed", "stopped", "canceled"] as const;

export const jobs: Command = {
  synopsis: ["jobs <queue> --status S [--limit N] [--cursor C]"],
  summary: "a page of a queue's jobs in one status",
  about:
    `A page of a queue's jobs in one status: ${STATUSES.join(", ")}.\n` +
    "Queued ones in the order workers take them, ended ones newest first. --limit: at most 200, default 50;\n" +
    "the last line names the --cursor of the next page.",
  args: ["queue"],
  flags: ["status", "limit", "cursor"],
  run: async (ctx, [name], flags) => {
    const status = oneOf(flags.status, "--status", STATUSES);
    const limit = flags.limit === undefined ? undefined : wholeNumber(flags.limit, "--limit");
    const page = await queueOf(ctx, name!).list(status, { limit, cursor: flags.cursor });
    let text = page.jobs.length ? jobsTable(page.jobs, status, ctx.now) : `no ${status} jobs in queue "${name}"`;
    if (page.nextCursor) {
      const prefix = flags.prefix === undefined ? "" : ` --prefix ${flags.prefix}`;
      text += `\nmore: edgeq admin jobs ${name} --status ${status} --cursor ${page.nextCursor}${prefix}`;
    }
    return { json: page, text };
  },
};

export const job: Command = {
  synopsis: ["job <id>"],
  summary: "one job, its error with the stack",
  about: "One job: status, timestamps, args, result, error with its stack, progress, meta, dependencies, callback.",
  args: ["id"],
  flags: [],
  run: async (ctx, [id]) => {
    const job = await findJob(ctx, id!);
    return { json: job, text: jobText(job, ctx.now) };
  },
};

export const attempts: Command = {
  synopsis: ["attempts <id>"],
  summary: "a job's attempts, newest first",
  about: "A job's attempts, newest first: each one's worker, start, run time and error.",
  args: ["id"],
  flags: [],
  run: async (ctx, [id]) => {
    const job = await findJob(ctx, id!);
    const attempts = (await queueOf(ctx, job.queue).attempts(job.id)) ?? [];
    const text = attempts.length ? attemptsTable(attempts, ctx.now) : `job "${job.id}" has not started yet`;
    return { json: { attempts }, text };
  },
};

export const cancel: Command = {
  synopsis: ["cancel <id>"],
  summary: "cancel a job, or stop a started one",
  about: "Cancels a job that has not started; a started one's worker is asked to stop it, and it ends as stopped.",
  args: ["id"],
  flags: [],
  run: async (ctx, [id]) => {
    const before = await findJob(ctx, id!);
    const job = await queueOf(ctx, before.queue).cancel(before.id);
    const text =
      job.status === "started"
        ? `asked the worker running job "${job.id}" to stop it; it ends as stopped`
        : `canceled job "${job.id}" (it was ${before.status})`;
    return { json: job, text };
  },
};

export const requeue: Command = {
  synopsis: ["requeue <id>", "requeue <queue> --all-failed", "requeue <queue> --status stopped|canceled"],
  summary: "put a failed job (or all of a queue's) back",
  about:
    "Puts a failed, stopped or canceled job back in its queue, as new. With --all-failed, every failed job\n" +
    "of the queue; with --status, every job of the queue in that status.",
  args: ["id or queue"],
  flags: ["all-failed", "status"],
  run: async (ctx, [target], flags) => {
    if (flags["all-failed"] || flags.status !== undefined) {
      if (flags["all-failed"] && flags.status !== undefined && flags.status !== "failed") {
        throw new UsageError("--all-failed and --status name different jobs: give one");
      }
      const status = flags.status === undefined ? "failed" : oneOf(flags.status, "--status", REQUEUABLE);
      const { count } = await queueOf(ctx, target!).requeueAll(status);
      return { json: { count }, text: `requeued ${count} ${status} ${noun(count, "job")} of queue "${target}"` };
    }
    const before = await findJob(ctx, target!);
    const job = await queueOf(ctx, before.queue).requeue(before.id);
    return { json: job, text: `requeued job "${job.id}" (it was ${before.status}; now ${job.status})` };
  },
};

export const empty: Command = {
  synopsis: ["empty <queue>"],
  summary: "cancel every queued job of a queue",
  about: "Cancels every queued job of a queue; scheduled, deferred and started ones stay.",
  args: ["queue"],
  flags: [],
  run: async (ctx, [name]) => {
    const { count } = await queueOf(ctx, name!).empty();
    return { json: { count }, text: `canceled ${count} queued ${noun(count, "job")} of queue "${name}"` };
  },
};

export const clean: Command = {
  synopsis: ["clean <queue> --older-than <age> [--status S]"],
  summary: "delete a queue's ended jobs older than an age",
  about:
    "Deletes a queue's ended jobs that ended longer ago than <age>: a number and a unit, s, m, h or d\n" +
    `(30s, 15m, 12h, 7d); with --status, those of one status (${TERMINAL_STATUSES.join(", ")}) alone.`,
  args: ["queue"],
  flags: ["status", "older-than"],
  run: async (ctx, [name], flags) => {
    const statuses =
      flags.status === undefined ? TERMINAL_STATUSES : [oneOf(flags.status, "--status", TERMINAL_STATUSES)];
    const olderThan = required(flags["older-than"], "--older-than");
    const age = duration(olderThan, "--older-than");
    let count = 0;
    for (const status of statuses) count += (await queueOf(ctx, name!).clean(status, age)).count;
    const which = flags.status === undefined ? "ended" : flags.status;
    const text = `deleted ${count} ${which} ${noun(count, "job")} of queue "${name}" that ended over ${olderThan} ago`;
    return { json: { count }, text };
  },
};
