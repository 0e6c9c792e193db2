// The two Redis clients edgeq accepts, seen through the one interface its
// code needs (ScriptRunner): ioredis over TCP, @upstash/redis over REST.
import type { ScriptRunner } from "./script.ts";

/** The part of ioredis edgeq calls: (sha, numkeys, ...keys, ...args). */
interface IoredisLike {
  evalsha(sha: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(source: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  defineCommand: unknown;
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** Set on a Cluster, whose commands go to the node of their keys. */
  isCluster?: boolean;
  /** The socket of the current connection: a new one after every reconnect. */
  stream?: unknown;
}

/** The part of @upstash/redis edgeq calls: (sha, keys, args). */
type UpstashLike = ScriptRunner;

export type RedisClient = IoredisLike | UpstashLike;

export function scriptRunner(redis: RedisClient): ScriptRunner {
  // already one of ours, made below
  if ("keyLocking" in redis) return redis as ScriptRunner;
  if ("defineCommand" in redis && typeof redis.defineCommand === "function") {
    const io = redis as IoredisLike;
    return {
      evalsha: (sha, keys, args) => io.evalsha(sha, keys.length, ...keys, ...args),
      eval: (source, keys, args) => io.eval(source, keys.length, ...keys, ...args),
      keyLocking: false,
      // a Cluster would send WAIT, which names no key, to any node
      ...(!io.isCluster && {
        replication: {
          epoch: () => io.stream,
          wait: async (replicas, timeoutMs) => Number(await io.call("WAIT", replicas, timeoutMs)),
        },
      }),
    };
  }
  if (typeof redis.evalsha !== "function" || typeof redis.eval !== "function") {
    throw new TypeError("redis must be an ioredis client or an @upstash/redis client");
  }
  const upstash = redis as UpstashLike;
  return {
    evalsha: (sha, keys, args) => upstash.evalsha(sha, keys, args),
    eval: (source, keys, args) => upstash.eval(source, keys, args),
    // over REST: Upstash itself, or the gateway, which drops the flag for Redis
    keyLocking: true,
  };
}

/** A subscription to one channel: ready once Redis has confirmed it, so nothing published after is missed. */
export interface Subscription {
  ready: Promise<void>;
  close(): Promise<void>;
  /**
   * Scripts run on the subscribed connection itself, after its SUBSCRIBE, so a read sent at once needs no round
   * trip of its own and misses nothing published after it. Only where a subscribed connection takes other commands
   * (RESP3, one server); elsewhere undefined, and over RESP2 its calls fail: read once `ready` instead.
   */
  runner?: ScriptRunner;
}

/** Subscribes to a channel, calling `onMessage` with each message as text. */
export type Subscribe = (channel: string, onMessage: (message: string) => void) => Subscription;

/** What a subscriber connection of ioredis offers (a duplicate of the caller's connection). */
interface IoredisSubscriber extends IoredisLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "ready", listener: () => void): unknown;
  stream?: { unref?: () => void };
}

/** The part of @upstash/redis's subscribe() edgeq uses: a stream of SSE messages over fetch. */
interface UpstashSubscriber {
  on(event: "subscribe", listener: (count: number) => void): void;
  on(event: "message", listener: (event: { message: unknown }) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  unsubscribe(channels?: string[]): Promise<void>;
}

// One subscriber connection per ioredis client, shared by every subscription made through it.
const ioSubscribers = new WeakMap<object, Subscribe>();

/**
 * Pub/sub through the caller's client: a second ioredis connection over TCP
 * (subscribed connections can send nothing else), or @upstash/redis's
 * subscribe() over REST (server-sent events, which the gateway serves too).
 */
export function subscriber(redis: RedisClient): Subscribe {
  if ("defineCommand" in redis && typeof redis.defineCommand === "function") {
    let subscribe = ioSubscribers.get(redis);
    if (!subscribe) {
      subscribe = ioredisSubscribe((redis as unknown as { duplicate(): IoredisSubscriber }).duplicate());
      ioSubscribers.set(redis, subscribe);
    }
    return subscribe;
  }
  const upstash = redis as unknown as { subscribe(channels: string[]): UpstashSubscriber };
  return (channel, onMessage) => {
    const stream = upstash.subscribe([channel]);
    const ready = new Promise<void>((resolve, reject) => {
      stream.on("subscribe", () => resolve());
      stream.on("error", reject);
    });
    // messages arrive parsed when they look like JSON: a status word stays text
    stream.on("message", ({ message }) => onMessage(typeof message === "string" ? message : JSON.stringify(message)));
    return { ready, close: () => stream.unsubscribe() };
  };
}

function ioredisSubscribe(connection: IoredisSubscriber): Subscribe {
  const listeners = new Map<string, Set<(message: string) => void>>();
  const subscribed = new Map<string, Promise<unknown>>();
  // the connection must not keep a process alive on its own: a script that waited for a job may exit
  const unref = () => connection.stream?.unref?.();
  connection.on("ready", unref);
  unref();
  connection.on("message", (channel, message) => {
    for (const listener of listeners.get(channel) ?? []) listener(message);
  });
  const runner = connection.isCluster ? undefined : scriptRunner(connection);
  return (channel, onMessage) => {
    let set = listeners.get(channel);
    if (!set) {
      set = new Set();
      listeners.set(channel, set);
      subscribed.set(channel, connection.subscribe(channel));
    }
    set.add(onMessage);
    return {
      ready: subscribed.get(channel)!.then(() => undefined),
      runner,
      close: async () => {
        set.delete(onMessage);
        if (set.size > 0 || listeners.get(channel) !== set) return;
        listeners.delete(channel);
        subscribed.delete(channel);
        await connection.unsubscribe(channel);
      },
    };
  };
}

/** Waits until a stream has an entry after `after`, or `ms` pass; `close` ends a wait under way with an error. */
export interface StreamWaiter {
  wait(key: string, after: string, ms: number): Promise<void>;
  close(): void;
}

/**
 * Over TCP, a waiter that blocks in Redis (XREAD BLOCK) on a connection of its own, since a blocking read holds
 * its connection until it answers. Null over REST, where nothing may block (Upstash, the gateway): poll instead.
 */
export function streamWaiter(redis: RedisClient): StreamWaiter | null {
  if (!("defineCommand" in redis && typeof redis.defineCommand === "function")) return null;
  const connection = (redis as unknown as { duplicate(): IoredisStreamReader }).duplicate();
  return {
    wait: async (key, after, ms) => {
      await connection.xread("BLOCK", ms, "COUNT", 1, "STREAMS", key, after);
    },
    close: () => connection.disconnect(),
  };
}

/** What a connection of ioredis offers for a blocking read of a stream. */
interface IoredisStreamReader {
  xread(...args: (string | number)[]): Promise<unknown>;
  disconnect(): void;
}
