// Events that durable jobs wait for (ctx.waitForEvent): sending one to a
// queue resumes its jobs that wait for it, in bounded calls.
import { DEFAULTS } from "./defaults.ts";
import { EdgeqError, parseOrThrow, type FieldIssue } from "./errors.ts";
import { byteLength } from "./job.ts";
import type { Keys } from "./keys.ts";
import { eventNameSchema, jsonValueSchema, type JsonValue } from "./names.ts";
import type { ScriptRunner } from "./script.ts";
import * as scripts from "./scripts/index.ts";

export interface EventOptions {
  /** Resumes the jobs waiting for this key, and those waiting for the event whatever its key. */
  key?: string;
  /** What the waits answer; null when left out. */
  data?: JsonValue;
  /** Stop after this many script calls and say whether jobs still wait (an HTTP request has a budget). */
  chunks?: number;
}

export interface EventSent {
  /** How many waiting jobs it resumed. */
  resumed: number;
  /** Jobs still wait for it (a budget of calls was spent): send it again to resume them. */
  more: boolean;
}

/** Event data larger than a job's result may be: the edge answers it with 413. */
export class EventTooLargeError extends EdgeqError {
  override readonly status = 413;
  override name = "EventTooLargeError";
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join("; "));
  }
}

/** Sends an event to a queue: every job of it that waits for the event (and key) goes on with its data. */
export async function sendEvent(
  redis: ScriptRunner,
  keys: Keys,
  queue: string,
  event: string,
  { key, data = null, chunks = Number.POSITIVE_INFINITY }: EventOptions = {},
): Promise<EventSent> {
  parseOrThrow(eventNameSchema, event, "event");
  if (key !== undefined) parseOrThrow(eventNameSchema, key, "key");
  const text = JSON.stringify(parseOrThrow(jsonValueSchema, data, "data"));
  if (byteLength(text) > DEFAULTS.maxResultBytes) {
    const message = `is ${byteLength(text)} bytes of JSON; the limit is ${DEFAULTS.maxResultBytes}`;
    throw new EventTooLargeError([{ field: "data", message }]);
  }
  let resumed = 0;
  for (let i = 0; i < chunks; i++) {
    const sent = await scripts.sendEvent.run(redis, keys, { now: Date.now(), queue, event, key, data: text });
    resumed += sent.resumed;
    if (!sent.more) return { resumed, more: false };
  }
  return { resumed, more: true };
}
