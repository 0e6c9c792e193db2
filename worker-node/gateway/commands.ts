// The commands of one gateway request, run on Redis as Upstash runs them:
// one command, a pipeline (each command answers on its own) or a transaction
// (all or none), each checked against the gateway's refusals (protocol.ts)
// and, on a cluster, the cluster's (cluster.ts) before anything is sent.
// server.ts reads the request and writes the answer around this.
import type { Cluster } from "ioredis";
import { scriptRunner } from "../../shared/redis.ts";
import { replicasBehind, type ReplicaWait } from "../../shared/replicas.ts";
import type { Connection } from "../connection.ts";
import type { Call, ClusterCommands } from "./cluster.ts";
import { KeyLockingScripts } from "./key-locking.ts";
import { encodeError, encodeResult, errorMessage, HttpError, isReplyError, refusal, takeName } from "./protocol.ts";

/** A replica wait (EDGEQ_WAIT_REPLICAS) and the commands that need none: those Redis flags read-only. */
export interface Replicated {
  wait: ReplicaWait;
  readOnly: Set<string>;
}

/** Each method's `readable`: the commands a read-only token may run; undefined for a full token. */
export class Commands {
  readonly #pool: Connection[];
  readonly #cluster: ClusterCommands | undefined;
  readonly #replicated: Replicated | undefined;
  readonly #keyLocking = new KeyLockingScripts();
  readonly #parity: boolean;
  #next = 0;

  /**
   * pool: the connections requests share, in turn; cluster: set when they reach a Redis Cluster; replicated: set
   * when a request that writes is answered only once WAIT says enough replicas have it; parity: serve what
   * Upstash serves of Redis's dangerous commands (GATEWAY_UPSTASH_PARITY).
   */
  constructor(pool: Connection[], cluster: ClusterCommands | undefined, replicated?: Replicated, parity = false) {
    this.#pool = pool;
    this.#cluster = cluster;
    this.#replicated = replicated;
    this.#parity = parity;
  }

  async pipeline(commands: string[][], base64: boolean, readable?: Set<string>): Promise<string> {
    const entries: string[] = new Array(commands.length);
    const calls: (Call & { at: number })[] = [];
    for (let at = 0; at < commands.length; at++) {
      const args = commands[at] as string[];
      const name = this.#commandOf(args);
      const reason = this.#refused(name, args, readable);
      if (reason !== undefined) entries[at] = encodeError(reason);
      else calls.push({ at, name, args });
    }
    const redis = this.#pick();
    const epoch = this.#epoch(redis);
    // Auto-pipelining often sends a batch of one: skip ioredis's Pipeline. On
    // a cluster, a pipeline whose keys span slots cannot go to one node: its
    // commands run one after another, in order, as Upstash runs a pipeline.
    if (calls.length === 1 || this.#cluster?.apart(calls) !== undefined) {
      for (const { at, name, args } of calls) {
        entries[at] = await this.#run(redis, name, args).then(
          (reply) => encodeResult(reply, base64),
          (err: unknown) => encodeError(errorMessage(err)),
        );
      }
    } else if (calls.length > 0) {
      const pipeline = redis.pipeline();
      for (const { name, args } of calls) pipeline.callBuffer(name, args);
      const replies = (await pipeline.exec()) ?? [];
      calls.forEach(({ at }, j) => {
        const [err, reply] = replies[j] ?? [new Error("no reply"), null];
        entries[at] = err ? encodeError(err.message) : encodeResult(reply, base64);
      });
    }
    await this.#replicas(redis, calls, epoch);
    return `[${entries.join(",")}]`;
  }

  async transaction(commands: string[][], base64: boolean, readable?: Set<string>): Promise<string> {
    const calls = commands.map((args): Call => {
      const name = this.#commandOf(args);
      const reason = this.#refused(name, args, readable);
      if (reason !== undefined) throw new HttpError(400, reason);
      return { name, args };
    });
    // Refused before anything is sent, so none of it runs, as Redis Cluster refuses EXEC across slots.
    const apart = this.#cluster?.apart(calls);
    if (apart !== undefined) throw new HttpError(400, apart);
    const redis = this.#pick();
    const epoch = this.#epoch(redis);
    const transaction = redis.multi();
    for (const { name, args } of calls) transaction.callBuffer(name, args);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await transaction.exec();
    } catch (err) {
      if (!isReplyError(err)) throw err;
      // EXECABORT alone does not say which command Redis refused.
      const causes = (err as Error & { previousErrors?: Error[] }).previousErrors ?? [];
      if (causes.length === 0) throw new HttpError(400, err.message);
      const detail = causes.map((cause) => cause.message.trim()).join("; ");
      throw new HttpError(400, `${err.message.replace(/\.$/, "")}: ${detail}`);
    }
    if (replies === null) throw new HttpError(400, "EXECABORT Transaction aborted");
    await this.#replicas(redis, calls, epoch);
    let out = "[";
    for (let i = 0; i < replies.length; i++) {
      const [err, reply] = replies[i] as [Error | null, unknown];
      if (i > 0) out += ",";
      out += err ? encodeError(err.message) : encodeResult(reply, base64);
    }
    return `${out}]`;
  }

  // Redis errors reject and become 400 in server.ts; so do refusals: Upstash
  // answers 400 to a command it will not run, and @upstash/redis throws the
  // `error` of any answer that is not 2xx.
  async one(args: string[], base64: boolean, readable?: Set<string>): Promise<string> {
    const name = this.#commandOf(args);
    const reason = this.#refused(name, args, readable);
    if (reason !== undefined) throw new HttpError(400, reason);
    const redis = this.#pick();
    const epoch = this.#epoch(redis);
    const reply = await this.#run(redis, name, args);
    await this.#replicas(redis, [{ name }], epoch);
    return encodeResult(reply, base64);
  }

  /** What WAIT needs to know the connection that carried a request's writes is still the same one. */
  #epoch(redis: Connection): unknown {
    return this.#replicated && scriptRunner(redis).replication?.epoch();
  }

  /**
   * With a replica wait, a request that ran a command Redis does not flag read-only (a script, a SET) is answered
   * only once WAIT says enough replicas have its writes; else 503 NOREPLICAS, which edgeq's clients take for
   * ReplicasBehindError: the writes happened on the master but may not survive a failover.
   */
  async #replicas(redis: Connection, calls: { name: string }[], epoch: unknown): Promise<void> {
    const replicated = this.#replicated;
    if (!replicated || calls.every(({ name }) => replicated.readOnly.has(name))) return;
    const replication = scriptRunner(redis).replication!;
    const behind = await replicasBehind(replication, replicated.wait, epoch);
    if (behind) throw new HttpError(503, `NOREPLICAS ${behind}`);
  }

  #pick(): Connection {
    return this.#pool[this.#next++ % this.#pool.length] as Connection;
  }

  #run(redis: Connection, name: string, args: string[]): Promise<unknown> {
    return this.#cluster ? this.#cluster.call(redis as Cluster, name, args) : redis.callBuffer(name, args);
  }

  /** The command's name, taken off its arguments, which are adapted to Redis. */
  #commandOf(args: string[]): string {
    const name = takeName(args);
    this.#keyLocking.adapt(name, args);
    return name;
  }

  /** The gateway's own refusals, then the cluster's. */
  #refused(name: string, args: string[], readable?: Set<string>): string | undefined {
    return refusal(name, args, readable, this.#parity) ?? this.#cluster?.refusal(name);
  }
}
