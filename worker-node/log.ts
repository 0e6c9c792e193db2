// A job's log, on the task's side: what ctx.log and ctx.logger make of their
// arguments, one line of text each, before the worker writes them to Redis
// with the job's progress (see Running.report). Bundled into every horse:
// node:util only, no pino.
import { formatWithOptions } from "node:util";
import type { Bindings, ChildLoggerOptions, Logger } from "pino";
import { DEFAULTS } from "../shared/defaults.ts";
import type { Job } from "../shared/job.ts";
import type { LogLine } from "../shared/scripts/index.ts";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** The line's JSON text, as it is buffered, sent and stored: args formatted as console.log formats them. */
export function logLine(job: Job, args: unknown[], level?: string): string {
  const line: LogLine = {
    at: Date.now(),
    attempt: job.attempts,
    text: cut(formatWithOptions({ colors: false }, ...args)),
  };
  if (level) line.level = level;
  return JSON.stringify(line);
}

/** The text within DEFAULTS.maxLogLineBytes, saying how much was cut. */
function cut(text: string): string {
  const max = DEFAULTS.maxLogLineBytes;
  // a UTF-16 unit is at most 3 bytes of UTF-8: most lines need no encoding to be known short enough
  if (text.length * 3 <= max) return text;
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= max) return text;
  const kept = new TextDecoder().decode(bytes.subarray(0, max - 64));
  return `${kept}… (${bytes.byteLength - (max - 64)} bytes cut)`;
}

/**
 * The task's logger, writing each line it logs (at a level it logs) through to the job's log as well, and so do
 * the children it makes.
 */
export function writingThrough(logger: Logger, write: (args: unknown[], level: string) => void): Logger {
  return new Proxy(logger, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === "child") {
        return (bindings: Bindings, options?: ChildLoggerOptions) =>
          writingThrough(target.child(bindings, options), write);
      }
      const level = LEVELS.find((name) => name === property);
      if (!level || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (target.isLevelEnabled(level)) write(pinoArgs(args), level);
        return (value as (...a: unknown[]) => void).apply(target, args);
      };
    },
  });
}

/** A pino call's arguments, (obj?, msg?, ...values), in the order console.log would show them. */
function pinoArgs(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (first === null || typeof first !== "object") return args;
  return rest.length > 0 ? [...rest, first] : [first];
}
