// Pub/sub as Upstash serves it over REST: POST /subscribe/<channel> (or
// /psubscribe/<pattern>) answers with server-sent events that last until the
// client goes away; @upstash/redis's subscribe() and psubscribe() read them.
// A subscribed Redis connection can do nothing else, so each stream holds a
// connection of its own, closed with the stream, and their number is bounded.
import type { ServerResponse } from "node:http";
import type { Redis } from "ioredis";
import { HttpError, type SubscribeCommand, sseEvent, streamPath } from "./protocol.ts";

// A comment line now and then keeps proxies from closing a quiet stream (nginx
// drops a silent upstream after 60 s), and a write to a client that vanished
// without closing its socket fails, which frees its Redis connection.
const KEEPALIVE_MS = 15_000;
// A client reading slower than its channels publish would have the gateway
// buffer without end; past this it is cut off (@upstash/redis gives up on a
// line of this length too).
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface Subscriptions {
  /** Streams the messages of `targets` to `res` until either side closes; rejects before answering, if at all. */
  stream(res: ServerResponse, command: SubscribeCommand, targets: string[], syncToken: string): Promise<void>;
  /** Ends every stream and takes no more, as the gateway shuts down. */
  endAll(): void;
}

export function subscriptions(connect: () => Redis, max: number): Subscriptions {
  const open = new Set<ServerResponse>();
  let ended = false;

  const stream = async (res: ServerResponse, command: SubscribeCommand, targets: string[], syncToken: string) => {
    if (targets.length === 0) throw new HttpError(400, `ERR ${command} needs at least one: ${streamPath(command)}`);
    if (ended) throw new HttpError(503, "ERR the gateway is shutting down");
    if (open.size >= max) {
      throw new HttpError(
        503,
        `ERR the gateway holds ${max} subscriptions, its limit (GATEWAY_MAX_SUBSCRIPTIONS); try again later`,
      );
    }
    const connection = connect();
    open.add(res);
    let gone = false;
    const closed = new Promise<void>((resolve) =>
      res.once("close", () => {
        gone = true;
        resolve();
      }),
    );

    // Messages that arrive with the last confirmation wait for the headers.
    let held: string[] | undefined = [];
    const send = (event: string): void => {
      if (held !== undefined) {
        held.push(event);
        return;
      }
      res.write(event);
      if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
    };
    connection.on("message", (channel: string, message: string) => send(sseEvent(["message", channel, message])));
    connection.on("pmessage", (pattern: string, channel: string, message: string) =>
      send(sseEvent(["pmessage", pattern, channel, message])),
    );

    let keepalive: NodeJS.Timeout | undefined;
    try {
      await connection.connect();
      // One at a time, so each confirmation carries its own count, as Redis sends them.
      const confirmations: string[] = [];
      for (const target of targets) {
        const count =
          command === "SUBSCRIBE" ? await connection.subscribe(target) : await connection.psubscribe(target);
        confirmations.push(sseEvent([command.toLowerCase(), target, String(count)]));
      }
      if (gone) return;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        // nginx would otherwise buffer the stream and deliver nothing until it ends
        "x-accel-buffering": "no",
        // a stream ends only when one side gives up; nothing follows it on the connection
        connection: "close",
        "upstash-sync-token": syncToken,
      });
      res.write(confirmations.join("") + held.join(""));
      held = undefined;
      // Its Redis gone for good (the connection gave up reconnecting), the stream ends, so the client knows.
      connection.once("end", () => res.end());
      keepalive = setInterval(() => send(": keepalive\n\n"), KEEPALIVE_MS);
      await closed;
    } finally {
      clearInterval(keepalive);
      open.delete(res);
      connection.disconnect();
    }
  };

  const endAll = (): void => {
    ended = true;
    for (const res of open) {
      if (res.headersSent) res.end();
      else res.destroy();
    }
  };

  return { stream, endAll };
}
