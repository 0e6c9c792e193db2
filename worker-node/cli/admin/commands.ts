// Every `edgeq admin` command by name, in the order the help lists them, and
// the help itself; the command a parsed command line names, with the words
// and flags that command takes.
import { DEFAULTS } from "../../../shared/index.ts";
import { GLOBAL_FLAGS, UsageError, type CommandLine, type Flag } from "./command-line.ts";
import type { Command } from "./command.ts";
import { group, groups } from "./groups.ts";
import { attempts, cancel, clean, empty, job, jobs, requeue } from "./jobs.ts";
import { logs } from "./logs.ts";
import { concurrency, event, keep, limit, pause, queues, resume } from "./queues.ts";
import { schedule, schedules } from "./schedules.ts";

export const COMMANDS: Record<string, Command> = {
  queues,
  schedules,
  jobs,
  schedule,
  job,
  attempts,
  logs,
  cancel,
  requeue,
  empty,
  clean,
  pause,
  resume,
  limit,
  concurrency,
  keep,
  groups,
  group,
  event,
};

export const USAGE = `usage: edgeq admin <command> [--json] [--prefix P]
${Object.values(COMMANDS)
  .map((c) => c.synopsis.map((form, i) => `  ${form.padEnd(50)}${i === 0 ? c.summary : ""}`.trimEnd()).join("\n"))
  .join("\n")}

  --json      print JSON for programs instead of text for people
  --prefix P  the deployment's key prefix (default: EDGEQ_PREFIX, else "${DEFAULTS.prefix}")
  -h, --help  this help; "edgeq admin <command> --help" says more about one command

Redis comes from REDIS_URL (default ${DEFAULTS.redisUrl}), or REDIS_CLUSTER_NODES for a cluster,
or REDIS_SENTINELS (with REDIS_SENTINEL_NAME) for the master Sentinel names.
Exit codes: 0 done, 1 failed (the message says why), 2 usage.`;

/** The command of that name; own keys only, so that "toString" or "__proto__" names no command. */
function commandNamed(name: string | undefined): Command | undefined {
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

/** The help of the named command, or all of it when the name is none of theirs. */
export function help(name: string | undefined): string {
  const command = commandNamed(name);
  if (!command) return USAGE;
  return `usage: ${command.synopsis.map((s) => `edgeq admin ${s}`).join("\n       ")}

${command.about}
Every command also takes --json and --prefix P; "edgeq admin --help" lists the commands.`;
}

/** The command the line names, with the positionals and flags it takes, or a UsageError. */
export function resolve({ name, args, flags }: CommandLine): Command {
  if (name === undefined) throw new UsageError("which command?");
  const command = commandNamed(name);
  if (!command) throw new UsageError(`no command "${name}"`);
  const stray = (Object.keys(flags) as Flag[]).filter((f) => !GLOBAL_FLAGS.includes(f) && !command.flags.includes(f));
  if (stray.length) throw new UsageError(`${name} takes no ${stray.map((f) => `--${f}`).join(", ")}`, name);
  // "concurrency <queue> --off" goes without its N
  const fewest = name === "concurrency" && flags.off ? 1 : command.args.length;
  if (args.length < fewest || args.length > command.args.length) {
    throw new UsageError(`${name} takes ${command.args.map((a) => `<${a}>`).join(" ") || "no arguments"}`, name);
  }
  return command;
}
