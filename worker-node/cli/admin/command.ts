// What an `edgeq admin` command is: its help, the words and flags it takes,
// and how it runs against the Redis it is given. Commands reach Redis only
// through the producer API (shared/queue.ts), so they obey the same scripts
// as the edge and the workers and run no Lua of their own.
import { getJob, JobNotFoundError, Queue, type JobView, type Keys } from "../../../shared/index.ts";
import type { Connection } from "../../connection.ts";
import type { Flag, Flags } from "./command-line.ts";

export interface Context {
  redis: Connection;
  prefix: string;
  keys: Keys;
  now: number;
  /** Prints as the command goes (a follower's lines), before its output. */
  out(text: string): void;
}

/** What a command prints: text for a person, or with --json a value for a program. */
export interface Output {
  text: string;
  json: unknown;
  /** The command printed what it had to say as it went (with ctx.out). */
  printed?: true;
}

export interface Command {
  /** Forms of the command line after `edgeq admin`, one per line of help. */
  synopsis: string[];
  /** One line in the list of commands. */
  summary: string;
  /** What `<command> --help` says. */
  about: string;
  /** The positionals, by name, in order. */
  args: string[];
  flags: Flag[];
  run(ctx: Context, args: string[], flags: Flags): Promise<Output>;
}

export function queueOf(ctx: Context, name: string): Queue {
  return new Queue(name, { redis: ctx.redis, prefix: ctx.prefix });
}

/** Job ids are global: a job is found first, then acted on through its own queue. */
export async function findJob(ctx: Context, id: string): Promise<JobView> {
  const job = await getJob(ctx.redis, ctx.keys, id);
  if (!job) throw new JobNotFoundError(id);
  return job;
}
