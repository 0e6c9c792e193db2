// The admin commands about recurring jobs: every schedule, and one schedule
// shown, set (created or replaced) or deleted. Workers fire them.
import { ScheduleNotFoundError, Schedules, type ScheduleSpec, type ScheduleView } from "../../../shared/index.ts";
import { duration, jsonFlag, required, UsageError, type Flag } from "./command-line.ts";
import type { Command, Context } from "./command.ts";
import { scheduleText, schedulesTable } from "./text.ts";

export const schedules: Command = {
  synopsis: ["schedules"],
  summary: "recurring jobs, in the order they fire next",
  about: "Every schedule: its queue and task, its cron or interval, when it fires next and when it last did.",
  args: [],
  flags: [],
  run: async (ctx) => {
    const schedules = await allSchedules(ctx);
    const text = schedules.length ? schedulesTable(schedules, ctx.now) : `no schedules under prefix "${ctx.prefix}"`;
    return { json: { schedules }, text };
  },
};

export const schedule: Command = {
  synopsis: [
    "schedule <name>",
    "schedule <name> --queue Q --task T (--cron EXPR [--tz ZONE] | --every <time>) [--args JSON]",
    "schedule <name> --delete",
  ],
  summary: "show, set or delete one recurring job",
  about:
    "One schedule with its next runs; with --queue and --task it is created or replaced: a cron expression\n" +
    "(five or six fields, in UTC or --tz, an IANA zone) or an interval (--every 30s, 5m, 1h); --args is the\n" +
    "task's JSON arguments. --delete removes it. Workers fire it: one job per tick across the fleet.",
  args: ["name"],
  flags: ["queue", "task", "args", "cron", "tz", "every", "delete"],
  run: async (ctx, [name], flags) => {
    const schedules = new Schedules({ redis: ctx.redis, prefix: ctx.prefix });
    const setting = ["queue", "task", "args", "cron", "tz", "every"].filter((f) => flags[f as Flag] !== undefined);
    if (flags.delete) {
      if (setting.length) throw new UsageError("--delete takes no other flag", "schedule");
      await schedules.remove(name!);
      return { json: { deleted: name }, text: `deleted schedule "${name}"` };
    }
    if (setting.length) {
      const spec: ScheduleSpec = {
        queue: required(flags.queue, "--queue"),
        task: required(flags.task, "--task"),
        ...(flags.args !== undefined && { args: jsonFlag(flags.args, "--args") }),
        ...(flags.cron !== undefined && { cron: flags.cron }),
        ...(flags.tz !== undefined && { tz: flags.tz }),
        ...(flags.every !== undefined && { everyMs: duration(flags.every, "--every") }),
      };
      const { created, schedule } = await schedules.set(name!, spec);
      return {
        json: schedule,
        text: `${created ? "created" : "replaced"} schedule "${name}"\n\n${scheduleText(schedule, ctx.now)}`,
      };
    }
    const schedule = await schedules.get(name!);
    if (!schedule) throw new ScheduleNotFoundError(name!);
    return { json: schedule, text: scheduleText(schedule, ctx.now) };
  },
};

const SCHEDULES_PAGE = 200;

/** Every schedule, a page (at most 200) at a time. */
async function allSchedules(ctx: Context): Promise<ScheduleView[]> {
  const source = new Schedules({ redis: ctx.redis, prefix: ctx.prefix });
  const schedules: ScheduleView[] = [];
  for (;;) {
    const page = await source.list({ offset: schedules.length, limit: SCHEDULES_PAGE });
    schedules.push(...page);
    if (page.length < SCHEDULES_PAGE) return schedules;
  }
}
