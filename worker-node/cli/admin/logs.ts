// `edgeq admin logs`: a job's log lines (ctx.log, ctx.logger), a page of
// them, or with --follow every line as it is written until the job ends,
// woken by the job's own channel (the `{"log":n}` its writes publish, and its
// status changes) rather than by polling.
import { DEFAULTS, isTerminal, type JobLog, type JobStatus, type NumberedLogLine } from "../../../shared/index.ts";
import { noun } from "../../../shared/display.ts";
import { subscriber } from "../../../shared/redis.ts";
import { wholeNumber } from "./command-line.ts";
import { findJob, queueOf, type Command } from "./command.ts";

export const logs: Command = {
  synopsis: ["logs <id> [--follow] [--offset N] [--limit N]"],
  summary: "a job's log lines; --follow: as they come",
  about:
    "A job's log lines (ctx.log, ctx.logger), oldest first: the time, #attempt, the level of a ctx.logger line,\n" +
    `the text. A job keeps its latest ${DEFAULTS.maxLogLines} lines within ${DEFAULTS.maxLogBytes / 1024} KiB; ` +
    "lines are numbered from its first,\nthe dropped ones too. --offset: the first line's number (default 0); " +
    `--limit: at most ${DEFAULTS.maxLogPage}, default 100.\n` +
    "--follow prints every line from --offset on as it is written, and exits once the job has ended;\n" +
    "with --json, one JSON line per log line.",
  args: ["id"],
  flags: ["follow", "offset", "limit"],
  run: async (ctx, [id], flags) => {
    const job = await findJob(ctx, id!);
    const queue = queueOf(ctx, job.queue);
    const offset = flags.offset === undefined ? 0 : wholeNumber(flags.offset, "--offset");
    const limit = flags.limit === undefined ? undefined : wholeNumber(flags.limit, "--limit");
    if (!flags.follow) {
      const log = (await queue.logs(job.id, { offset, limit })) ?? { lines: [], total: 0, dropped: 0, nextOffset: 0 };
      const lines = [...dropNotice(log, offset), ...log.lines.map(lineText)];
      if (log.nextOffset < log.total) lines.push(`more: edgeq admin logs ${job.id} --offset ${log.nextOffset}`);
      return { json: log, text: lines.join("\n") || `job "${job.id}" has logged nothing` };
    }
    const print = (log: JobLog, from: number) => {
      if (!flags.json) for (const line of dropNotice(log, from)) ctx.out(line);
      for (const line of log.lines) ctx.out(flags.json ? JSON.stringify(line) : lineText(line));
    };
    let ended = isTerminal(job.status);
    let wake = () => {};
    const follow = subscriber(ctx.redis)(ctx.keys.events(job.id), (message) => {
      // a status change is its bare name, or the name and the job as it ended
      if (!message.startsWith("{") && isTerminal(message.split(" ", 1)[0] as JobStatus)) ended = true;
      wake();
    });
    try {
      await follow.ready;
      // read once subscribed, so that nothing written between the first read and now is missed
      ended ||= isTerminal((await findJob(ctx, job.id)).status);
      for (let from = offset; ; ) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        const wasEnded = ended;
        const log = await queue.logs(job.id, { offset: from, limit: DEFAULTS.maxLogPage });
        if (!log) break;
        print(log, from);
        from = log.nextOffset;
        if (log.lines.length === DEFAULTS.maxLogPage) continue;
        // every line is written before the outcome that ends the job: read after the end, nothing is left
        if (wasEnded) break;
        await woken;
      }
    } finally {
      await follow.close();
    }
    return { json: null, text: "", printed: true };
  },
};

/** One line as people read it: when, which attempt, the level of a ctx.logger line, the text. */
function lineText(line: NumberedLogLine): string {
  return `${new Date(line.at).toISOString()} #${line.attempt}${line.level ? ` ${line.level}` : ""}  ${line.text}`;
}

/** Says that lines before the first shown were dropped, when they were asked for. */
function dropNotice(log: JobLog, from: number): string[] {
  const dropped = log.dropped - from;
  if (dropped <= 0) return [];
  return [`(${dropped} earlier ${noun(dropped, "line")} dropped: a job keeps its latest ${DEFAULTS.maxLogLines})`];
}
