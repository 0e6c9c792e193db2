// Talking to a REST gateway in tests, in front of one Redis or a cluster: raw
// requests and event streams for the protocol itself, where the
// @upstash/redis client would hide the status or the body, and the events its
// subscriptions dispatch.
import type { Redis } from "@upstash/redis";

export interface RestOptions {
  /** Another token than the caller's; null sends none. */
  token?: string | null;
  /** Ask for base64 replies, as @upstash/redis does; default true. */
  base64?: boolean;
  contentType?: string;
  rawBody?: string;
  method?: string;
  /** Another gateway than the caller's. */
  url?: string;
}

/** A function that sends one request to the gateway `target` names (read at each call) and reads the answer. */
export function restCaller(target: () => { url: string; token: string }) {
  return async (path: string, body?: unknown, opts: RestOptions = {}) => {
    const headers: Record<string, string> = { "content-type": opts.contentType ?? "application/json" };
    const token = opts.token === undefined ? target().token : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.base64 !== false) headers["upstash-encoding"] = "base64";
    const res = await fetch((opts.url ?? target().url) + path, {
      method: opts.method ?? "POST",
      headers,
      body: opts.method === "GET" ? undefined : (opts.rawBody ?? JSON.stringify(body)),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      text, // biome-ignore lint/suspicious/noExplicitAny: each test reads the reply shape it expects
      json: JSON.parse(text) as any,
      syncToken: res.headers.get("upstash-sync-token"),
    };
  };
}

/** Resolves with the next event of a type that a subscriber dispatches. */
export function next<T = unknown>(subscriber: ReturnType<Redis["subscribe"]>, type: string): Promise<T> {
  return new Promise((resolve) => subscriber.on(type as "message", resolve as (data: unknown) => void));
}

/** A raw SSE stream from a gateway, read as text up to a marker at a time. */
export async function openStream(url: string, path: string, token: string) {
  const controller = new AbortController();
  const res = await fetch(url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    body: "[]",
    signal: controller.signal,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    res,
    /** The text up to and including `marker`, or up to the stream's end. */
    readTo: async (marker: string) => {
      while (!text.includes(marker)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const end = text.includes(marker) ? text.indexOf(marker) + marker.length : text.length;
      const read = text.slice(0, end);
      text = text.slice(end);
      return read;
    },
    ended: async () => (await reader.read()).done,
    abort: () => controller.abort(),
  };
}
