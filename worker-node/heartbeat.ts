// A worker's periodic work besides its jobs: the heartbeat that keeps its
// entry and renews its running jobs' leases (and hears which of them to stop,
// and which it lost), the fleet's maintenance pass, the declaration of its
// tasks, firing the schedules that fall due, and the warning at start when
// Redis may evict jobs (worker-node/eviction.ts).
import { hostname } from "node:os";
import type { Logger } from "pino";
import { DEFAULTS } from "../shared/defaults.ts";
import type { Keys } from "../shared/index.ts";
import { fireDueSchedules } from "../shared/schedule.ts";
import * as scripts from "../shared/scripts/index.ts";
import { declaration, type TaskDescription } from "../shared/tasks.ts";
import type { ScriptConnection } from "./connection.ts";
import type { Settings } from "./options.ts";
import type { Outbox } from "./outbox.ts";
import type { Interrupter, Running } from "./running.ts";
import { warnIfEvicting } from "./eviction.ts";

export type WorkerState = "starting" | "running" | "warm" | "cold" | "stopped";

/** What the heartbeat reads of its worker and acts on. */
export interface HeartbeatHost {
  name: string;
  keys: Keys;
  log: Logger;
  options: Pick<Settings, "queues" | "concurrency" | "isolation" | "leaseMs" | "heartbeatMs" | "maintenanceMs">;
  redis: ScriptConnection;
  outbox: Outbox;
  running: ReadonlyMap<string, Running>;
  executor: Interrupter;
  state(): WorkerState;
}

export class Heartbeat {
  /** The tasks the worker declares for its queues, and when it last did. */
  #tasks: TaskDescription[] = [];
  #declaredAt = 0;
  #tickTimer: NodeJS.Timeout | undefined;
  #tickDueAt = Infinity;
  #lastMaintenance = 0;
  /** Fires when the earliest schedule falls due: an idle worker wakes for a tick without polling. */
  #scheduleTimer: NodeJS.Timeout | undefined;
  readonly #startedAt = Date.now();

  constructor(readonly host: HeartbeatHost) {}

  /** The worker takes jobs from now on: schedules, its tasks' declaration and its first heartbeat. */
  async start(tasks: TaskDescription[]): Promise<void> {
    this.#tasks = tasks;
    void warnIfEvicting(this.host.redis.connection, this.host.log);
    void this.fireSchedules();
    await this.#declare();
    await this.#tick();
  }

  /**
   * Fires the schedules that are due (any worker may: a tick makes one job
   * across the fleet), then sleeps until the next one is; a schedule made or
   * changed anywhere wakes every worker through pub/sub.
   */
  async fireSchedules(): Promise<void> {
    const { host } = this;
    if (host.state() !== "running") return;
    clearTimeout(this.#scheduleTimer);
    let nextAt: number | null;
    try {
      const fired = await fireDueSchedules(host.redis.runner, host.keys);
      if (fired.fired.length > 0) host.log.info({ jobs: fired.fired }, "schedules fired");
      nextAt = fired.nextAt;
    } catch (error) {
      host.log.warn({ err: (error as Error).message }, "could not fire schedules; trying again shortly");
      nextAt = Date.now() + 1_000;
    }
    if (nextAt === null || host.state() !== "running") return;
    // a timer longer than a day is checked again then (setTimeout holds at most ~24.8 days)
    const wait = Math.min(Math.max(0, nextAt - Date.now()), 24 * 3600 * 1000);
    this.#scheduleTimer = setTimeout(() => void this.fireSchedules(), wait);
    this.#scheduleTimer.unref();
  }

  /** Busy: renew leases every third of a lease. Idle: one heartbeat per heartbeatMs. */
  schedule(): void {
    const { running, options } = this.host;
    const interval = running.size > 0 ? options.leaseMs / 3 : options.heartbeatMs;
    const dueAt = Date.now() + interval;
    if (this.#tickTimer && this.#tickDueAt <= dueAt) return;
    clearTimeout(this.#tickTimer);
    this.#tickDueAt = dueAt;
    this.#tickTimer = setTimeout(() => void this.#tick(), interval);
    this.#tickTimer.unref();
  }

  /**
   * Declares the tasks this worker runs, with their args' JSON Schemas, for
   * its queues: the edge refuses jobs none of them would run (shared/tasks.ts).
   */
  async #declare(): Promise<void> {
    const { host } = this;
    const now = Date.now();
    try {
      await host.redis.run([declaration(host.keys, host.options.queues, this.#tasks, now)]);
      this.#declaredAt = now;
    } catch (error) {
      host.log.warn({ err: (error as Error).message }, "tasks not declared: the edge takes any task for these queues");
    }
  }

  /** Heartbeat, lease renewal and (when due) the maintenance pass: one round trip. */
  async #tick(): Promise<void> {
    this.#tickTimer = undefined;
    this.#tickDueAt = Infinity;
    const { host } = this;
    if (host.state() === "stopped") return;
    const now = Date.now();
    // a declaration lasts a day: renewed hourly, it fades only once no worker serves the task
    if (now - this.#declaredAt >= DEFAULTS.taskDeclareEveryMs) void this.#declare();
    const renewal = this.renewal(now);
    const { maintenanceMs } = host.options;
    const maintain = now - this.#lastMaintenance >= maintenanceMs;
    try {
      const [renewed, recovered] = maintain
        ? await host.redis.run([renewal, scripts.recover.call(host.keys, { now, lockMs: maintenanceMs })])
        : [...(await host.redis.run([renewal])), undefined];
      if (maintain) this.#lastMaintenance = now;
      if (recovered?.ran && (recovered.recovered > 0 || recovered.promoted > 0)) {
        host.log.info({ recovered: recovered.recovered, promoted: recovered.promoted }, "maintenance pass");
      }
      for (const id of renewed.stop) {
        const running = host.running.get(id);
        if (running) host.executor.interrupt(running, "stop");
      }
      host.outbox.wakeAt(renewed.outboxDueAt);
      for (const id of renewed.lost) {
        const running = host.running.get(id);
        if (running) host.executor.interrupt(running.lost(), "lost");
      }
    } catch (error) {
      host.log.warn({ err: (error as Error).message }, "heartbeat failed");
    }
    this.schedule();
  }

  /** The heartbeat's call: the worker's entry, and its running jobs' leases. */
  renewal(now: number) {
    const { host } = this;
    return scripts.renew.call(host.keys, {
      now,
      leaseMs: host.options.leaseMs,
      worker: host.name,
      state: this.#entry(),
      entryTtlMs: host.options.heartbeatMs * 3,
      running: [...host.running.values()].map((running) => running.held),
    });
  }

  /** The worker's entry, for GET /v1/queues/:queue, the admin CLI and a dashboard. */
  #entry(): Record<string, string> {
    const { host } = this;
    const state = host.state();
    return {
      name: host.name,
      queues: host.options.queues.join(","),
      pid: String(process.pid),
      host: hostname(),
      state: state !== "running" ? state : host.running.size > 0 ? "busy" : "idle",
      currentJobs: [...host.running.keys()].join(","),
      concurrency: String(host.options.concurrency),
      isolation: host.options.isolation,
      startedAt: String(this.#startedAt),
    };
  }

  close(): void {
    clearTimeout(this.#tickTimer);
    clearTimeout(this.#scheduleTimer);
  }
}
