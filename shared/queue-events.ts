// A queue's event stream: every transition of its jobs (queued, started,
// progress, finished, failed, …) in a Redis stream capped near
// DEFAULTS.queueEventsMaxLen entries, which the scripts append to
// (scripts/includes/queue_event.lua). It is read a page at a time after the
// entry a reader saw last, so a reader resumes where it stopped, within the
// window the cap keeps; GET /v1/queues/:queue/events and Queue.events both
// follow it through followQueueEvents.
import { DEFAULTS } from "./defaults.ts";
import { parseOrThrow } from "./errors.ts";
import type { JobError } from "./job.ts";
import type { Keys } from "./keys.ts";
import { queueEventIdSchema, type JsonValue } from "./names.ts";
import { scriptRunner, streamWaiter, type RedisClient } from "./redis.ts";
import * as scripts from "./scripts/index.ts";
import type { JobStatus } from "./status.ts";

/** What an event is: the status its job moved to, or progress (the job stays started). */
export type QueueEventName = JobStatus | "progress";

/** What an event says of its job, as stored in the stream and served as an SSE event's data. */
export interface QueueEventData {
  /** The job's id. */
  id: string;
  /** Its status after the event. */
  status: JobStatus;
  /** The status it left; absent for a new job (and for progress). */
  from?: JobStatus;
  /** Its task: when it was made, with its progress and in its ending. */
  task?: string;
  /** Which attempt started, reported progress or ended. */
  attempt?: number;
  /** When a scheduled job falls due, epoch ms. */
  runAt?: number;
  /** Its progress, when its JSON is at most DEFAULTS.queueEventValueBytes. */
  progress?: JsonValue;
  /** How it failed: the error's name and its message, cut at DEFAULTS.queueEventValueBytes. */
  error?: Pick<JobError, "name" | "message">;
}

export interface QueueEvent extends QueueEventData {
  /** The entry's id in the stream, `<ms>-<n>`: pass it as `after` (or Last-Event-ID) to go on after this event. */
  eventId: string;
  event: QueueEventName;
}

/** The entry read after is no longer in the stream (the cap trimmed it): events in between may be missing. */
export interface QueueEventsGap {
  event: "gap";
  after: string;
}

export type QueueEventItem = QueueEvent | QueueEventsGap;

export interface QueueEventsOptions {
  /** Go on after this event's id; "0-0": from the oldest event kept. Default: the events from now on. */
  after?: string;
  /** Ends the iterator (and its connection) when it aborts. */
  signal?: AbortSignal;
}

export interface FollowOptions extends QueueEventsOptions {
  /** End after this many reads of the stream (a Worker's budget of subrequests). Default: no end. */
  maxReads?: number;
}

export interface QueueEventsPage {
  events: QueueEvent[];
  /** `after` is no longer in the stream but later events are: some may have been trimmed unseen. */
  gap: boolean;
  /** The id to read after next. */
  last: string;
}

/** Over REST, where nothing may block: the pause after a read that found nothing new, doubling up to the longest. */
const POLL = { firstMs: 100, maxMs: 2_000 };
/** Over TCP: the longest one blocking read waits before the stream is read again. */
const BLOCK_MS = 10_000;

/** A page of a queue's events after the entry `after` ("": none, only where the stream ends now). */
export async function readQueueEvents(
  redis: RedisClient,
  keys: Keys,
  queue: string,
  after: string,
): Promise<QueueEventsPage> {
  const page = await scripts.queueEvents.run(scriptRunner(redis), keys, { queue, after, count: DEFAULTS.scriptBatch });
  const events = page.events.map(
    ([eventId, event, data]): QueueEvent => ({ eventId, event: event as QueueEventName, ...JSON.parse(data) }),
  );
  return { events, gap: page.gap, last: page.last };
}

/**
 * Follows a queue's events: each page read at once while there are more, then a wait for the next (a blocking
 * read over TCP, polls with backoff over REST). A gap comes before the events after it.
 */
export async function* followQueueEvents(
  redis: RedisClient,
  keys: Keys,
  queue: string,
  options: FollowOptions = {},
): AsyncGenerator<QueueEventItem> {
  const { signal, maxReads = Number.POSITIVE_INFINITY } = options;
  let after = options.after === undefined ? "" : parseOrThrow(queueEventIdSchema, options.after, "after");
  if (after === "0") after = "0-0";
  const waiter = streamWaiter(redis);
  const close = () => waiter?.close();
  signal?.addEventListener("abort", close, { once: true });
  let pauseMs = POLL.firstMs;
  let caughtUp = false;
  try {
    for (let reads = 0; reads < maxReads && !signal?.aborted; reads++) {
      if (caughtUp) {
        if (waiter) await waiter.wait(keys.queueEvents(queue), after, BLOCK_MS);
        else await pause(pauseMs, signal);
        if (signal?.aborted) return;
      }
      const page = await readQueueEvents(redis, keys, queue, after);
      if (page.gap) yield { event: "gap", after };
      for (const event of page.events) yield event;
      caughtUp = page.events.length < DEFAULTS.scriptBatch;
      pauseMs = page.events.length > 0 ? POLL.firstMs : Math.min(pauseMs * 2, POLL.maxMs);
      after = page.last;
    }
  } catch (error) {
    // closing the waiter's connection is how an abort ends a blocking read
    if (!signal?.aborted) throw error;
  } finally {
    signal?.removeEventListener("abort", close);
    close();
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
