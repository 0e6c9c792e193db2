// The HTTP API's client, for browsers and servers: `import { EdgeqClient }
// from "edgeq/client"`. It needs fetch and nothing else, and imports only
// types, so its compiled file is one small ES module a page can load as it is.
import type { FieldIssue } from "./errors.ts";
import type { Enqueued, JobId, JobView } from "./job.ts";
import type { JsonValue } from "./names.ts";
import type { JobLog, NumberedLogLine } from "./scripts/logs.ts";
import type { EnqueueRequest } from "./options.ts";
import type { JobStatus, TerminalStatus } from "./status.ts";
import type { AnyTasks, JobRequestOf, ResultOf, TaskMap, TaskName, TaskRequest } from "./tasks.ts";

export type { Enqueued, EnqueueRequest, FieldIssue, JobLog, JobStatus, JobView, NumberedLogLine };

export interface ClientOptions {
  /** Where the API answers: "https://edgeq.example.workers.dev", or a path on this origin ("/queue"). */
  url: string;
  /** An API key, sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** Further tries of a request after a network error (default 2); an enqueue keeps its Idempotency-Key. */
  retries?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface EnqueueOptions extends RequestOptions {
  /** Makes the request safe to repeat: the same key and body give the same job. Default: a random key per call. */
  idempotencyKey?: string;
}

export interface ListOptions extends RequestOptions {
  /** Jobs per page, at most 200 (default 50). */
  limit?: number;
  /** The nextCursor of the page before. */
  cursor?: string | null;
}

export interface JobPage {
  jobs: JobView[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** The problem types the API answers with; others may come from a proxy in front of it. */
export type ProblemType =
  | `urn:edgeq:problem:${
      | "invalid-request"
      | "too-deep"
      | "unauthorized"
      | "forbidden"
      | "not-allowed-for-key"
      | "rate-limited"
      | "unknown-task"
      | "invalid-args"
      | "job-not-found"
      | "schedule-not-found"
      | "job-state"
      | "idempotency-conflict"
      | "job-id-taken"
      | "body-too-large"
      | "no-route"
      | "hook-not-found"
      | "invalid-signature"
      | "misconfigured"}`
  | "about:blank"
  | (string & {});

/** An RFC 9457 problem: what the API answers when it refuses or fails. */
export interface Problem {
  type: ProblemType;
  title: string;
  status: number;
  detail?: string;
  /** The offending fields of an invalid request. */
  errors?: FieldIssue[];
}

/** A refusal or failure of the API, with its problem+json fields. */
export class EdgeqApiError extends Error implements Problem {
  override name = "EdgeqApiError";
  readonly type: ProblemType;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly errors?: FieldIssue[];

  constructor(problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.errors = problem.errors;
  }
}

// A record, not a list, so that the type check fails here if a terminal status is added.
const TERMINAL: Record<TerminalStatus, true> = { finished: true, failed: true, stopped: true, canceled: true };
/** The most a single `?wait=` may ask for. */
const MAX_WAIT_SEC = 25;

const ended = (job: { status: JobStatus }) => job.status in TERMINAL;
const path = (id: string) => `/v1/jobs/${encodeURIComponent(id)}`;
const jobsOf = (queue: string) => `/v1/queues/${encodeURIComponent(queue)}/jobs`;

interface Call extends RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Whether a network error may be met by sending the request again. */
  retry?: boolean;
}

/**
 * The HTTP API. With the type of a task module's tasks (`EdgeqClient<typeof
 * tasks>`, imported type-only), task names and args are checked at compile
 * time and a job's result has its task's type.
 */
export class EdgeqClient<T extends TaskMap = AnyTasks> {
  readonly #url: string;
  readonly #key?: string;
  readonly #retries: number;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#url = options.url.replace(/\/+$/, "");
    this.#key = options.key;
    this.#retries = options.retries ?? 2;
    // called through a closure: a browser's fetch refuses any `this` but the window
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Enqueues a job; retried after a network error with the same Idempotency-Key, so it is enqueued once. */
  async enqueue<K extends TaskName<T>>(
    queue: string,
    job: TaskRequest<T, K>,
    options: EnqueueOptions = {},
  ): Promise<Enqueued<ResultOf<T[K]>>> {
    const key = options.idempotencyKey ?? randomKey();
    return this.#json("POST", jobsOf(queue), {
      ...options,
      body: job,
      headers: { "Idempotency-Key": key },
      retry: true,
    });
  }

  /** Enqueues up to 100 jobs, all or none. Retried after a network error only when every job names its id. */
  async batch(
    queue: string,
    jobs: JobRequestOf<T>[],
    options: RequestOptions = {},
  ): Promise<Enqueued<ResultOf<T[TaskName<T>]>>[]> {
    const retry = jobs.every((job) => job.options?.id !== undefined);
    const page = await this.#json<{ jobs: Enqueued<ResultOf<T[TaskName<T>]>>[] }>("POST", `${jobsOf(queue)}/batch`, {
      ...options,
      body: { jobs },
      retry,
    });
    return page.jobs;
  }

  /** The job; with `wait` (seconds, at most 25) as soon as it has ended, or as it is then. */
  async get<R>(id: JobId<R>, options: RequestOptions & { wait?: number } = {}): Promise<JobView<R>> {
    return this.#json("GET", options.wait ? `${path(id)}?wait=${options.wait}` : path(id), { ...options, retry: true });
  }

  /** The job once it has ended, or as it is when `timeoutMs` (default 60 s) has passed. */
  async wait<R>(id: JobId<R>, options: RequestOptions & { timeoutMs?: number } = {}): Promise<JobView<R>> {
    const end = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const wait = Math.min(MAX_WAIT_SEC, Math.ceil((end - Date.now()) / 1000));
      const job = await this.get(id, { signal: options.signal, wait: Math.max(wait, 0) });
      if (ended(job) || Date.now() >= end) return job;
    }
  }

  /**
   * The job at each change of its status or progress, until it has ended:
   * server-sent events read from a fetch stream, since an EventSource cannot
   * send the key. A stream that closes early is resumed where it stopped.
   */
  async *events<R>(id: JobId<R>, options: RequestOptions = {}): AsyncGenerator<JobView<R>, void, undefined> {
    let lastId: string | undefined;
    let job: JobView<R> | undefined;
    for (;;) {
      const response = await this.#send("GET", `${path(id)}/events`, {
        ...options,
        headers: lastId ? { "Last-Event-ID": lastId } : {},
        retry: true,
      });
      // 204: the last event seen was the terminal one
      if (response.status === 204 || !response.body) return;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      try {
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          buffer += read.value;
          for (let end = buffer.search(/\r?\n\r?\n/); end >= 0; end = buffer.search(/\r?\n\r?\n/)) {
            const event = parseEvent(buffer.slice(0, end));
            buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
            if (event.id) lastId = event.id;
            if (event.event === "error") {
              throw new EdgeqApiError({ type: "about:blank", title: "Error", status: 500, ...(event.data as object) });
            }
            if (event.event === "status") {
              job = event.data as JobView<R>;
              yield job;
              if (ended(job)) return;
            }
            // progress events carry the job's whole progress and meta: the job as it is now
            if (event.event === "progress" && job) {
              job = { ...job, ...(event.data as Partial<JobView<R>>) };
              yield job;
            }
          }
        }
      } catch (error) {
        // a connection lost mid-stream is resumed; an abort or a problem is the caller's
        if (options.signal?.aborted || error instanceof EdgeqApiError) throw error;
      } finally {
        reader.cancel().catch(() => {});
      }
    }
  }

  /** Cancels a waiting job, or asks the worker running it to stop. */
  /** Sends an event to a queue: its jobs that await it (ctx.waitForEvent) go on with its data. */
  async sendEvent(
    queue: string,
    event: string,
    body: { key?: string; data?: JsonValue } = {},
    options: RequestOptions = {},
  ): Promise<{ resumed: number; more: boolean }> {
    const route = `/v1/queues/${encodeURIComponent(queue)}/events/${encodeURIComponent(event)}`;
    return this.#json("POST", route, { ...options, body });
  }

  async cancel(id: string, options: RequestOptions = {}): Promise<JobView> {
    return this.#json("DELETE", path(id), options);
  }

  /** Puts a failed, stopped or canceled job back in its queue. */
  async requeue(id: string, options: RequestOptions = {}): Promise<JobView> {
    return this.#json("POST", `${path(id)}/requeue`, options);
  }

  /** A page of a job's log lines (ctx.log), oldest first; admin keys only, since a line may hold a secret. */
  async logs(id: string, options: RequestOptions & { offset?: number; limit?: number } = {}): Promise<JobLog> {
    const query = new URLSearchParams();
    if (options.offset) query.set("offset", String(options.offset));
    if (options.limit) query.set("limit", String(options.limit));
    return this.#json("GET", `${path(id)}/logs?${query}`, { ...options, retry: true });
  }

  /** A page of a queue's jobs in one status: waiting ones in the order workers take them, ended ones newest first. */
  async list(queue: string, status: JobStatus, options: ListOptions = {}): Promise<JobPage> {
    const query = new URLSearchParams({ status });
    if (options.limit) query.set("limit", String(options.limit));
    if (options.cursor) query.set("cursor", options.cursor);
    return this.#json("GET", `${jobsOf(queue)}?${query}`, { ...options, retry: true });
  }

  async #json<T>(method: string, route: string, call: Call): Promise<T> {
    return (await this.#send(method, route, call)).json() as Promise<T>;
  }

  async #send(method: string, route: string, call: Call): Promise<Response> {
    const headers: Record<string, string> = { ...call.headers };
    if (this.#key) headers.Authorization = `Bearer ${this.#key}`;
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    const init = { method, headers, signal: call.signal, body: call.body && JSON.stringify(call.body) };
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(this.#url + route, init as RequestInit);
      } catch (error) {
        // fetch rejects on a network error (or an abort, which is final); an HTTP error status is an answer
        if (!call.retry || attempt >= this.#retries || call.signal?.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
        continue;
      }
      if (response.ok) return response;
      const text = await response.text();
      let problem: Partial<Problem> = {};
      try {
        problem = JSON.parse(text);
      } catch {
        problem = { detail: text || undefined };
      }
      throw new EdgeqApiError({ type: "about:blank", title: response.statusText, ...problem, status: response.status });
    }
  }
}

/** One server-sent event: its fields, and its data parsed as JSON. */
function parseEvent(block: string): { event?: string; id?: string; data?: unknown } {
  const fields: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const [, name, value] = /^([^:]+):? ?(.*)$/.exec(line) ?? [];
    // several data lines make one value, joined by line breaks
    if (name) fields[name] = name === "data" && fields.data !== undefined ? `${fields.data}\n${value}` : value!;
  }
  return { event: fields.event, id: fields.id, data: fields.data ? JSON.parse(fields.data) : undefined };
}

/** A fresh Idempotency-Key; crypto.getRandomValues, unlike randomUUID, works on pages served over plain HTTP too. */
function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
