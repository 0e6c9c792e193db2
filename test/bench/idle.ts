// Idle cost: what one idle worker asks of Redis, counted by Redis itself
// (INFO commandstats), each worker alone on a redis-server of its own so
// nothing else is counted. Idle workers take no CPU, so they run for the whole
// bench, alongside the other scenarios; the count is cut into one-minute
// windows (edgeq's heartbeat comes once a minute), and a figure is the median
// window. A run too short for a whole window (--quick) extrapolates the
// partial one, and says so.
import { startBenchRedis, type BenchRedis, type Context } from "./context.ts";
import type { Child } from "./children.ts";
import { summarize, type Row } from "./measure.ts";
import { describeCommands, scaleTraffic, snapshot, traffic, type Snapshot, type Traffic } from "./server-stats.ts";
import { progress, sleep } from "./util.ts";
import { startWorker, type WorkerSpec } from "./workers.ts";

const WINDOW_MS = 60_000;

interface Watched {
  id: string;
  case: string;
  redis: BenchRedis;
  worker: Child;
  last: Snapshot;
  lastAt: number;
  firstAt: number;
  first: Snapshot;
  windows: Traffic[];
}

export interface IdleRun {
  /** Stops counting and the idle workers; the rows. */
  finish(): Promise<Row[]>;
}

const WORKERS: { id: string; case: string; spec: WorkerSpec }[] = [
  {
    id: "idle.edgeq",
    case: "edgeq worker, idle (fork-per-job, c=1, defaults)",
    spec: { system: "edgeq", queue: "idle", concurrency: 1, isolation: "process", horseMaxJobs: 1 },
  },
  {
    id: "idle.bullmq",
    case: "BullMQ Worker, idle (in-process, c=1, defaults)",
    spec: { system: "bullmq", queue: "idle", concurrency: 1, sandboxed: false },
  },
];

export async function startIdle(ctx: Context): Promise<IdleRun> {
  const watched: Watched[] = [];
  for (const w of WORKERS) {
    const redis = await startBenchRedis();
    const worker = await startWorker(redis, w.spec, w.id);
    // let startup traffic (first heartbeat, maintenance pass, stalled check) settle
    await sleep(1_000);
    const first = await snapshot(redis.admin);
    const now = Date.now();
    watched.push({ id: w.id, case: w.case, redis, worker, first, last: first, firstAt: now, lastAt: now, windows: [] });
  }
  progress(`idle workers started on their own redis-servers; counting in ${WINDOW_MS / 1000} s windows`);
  let pending = Promise.resolve();
  const timer = setInterval(() => {
    pending = pending.then(() => Promise.all(watched.map(cut)).then(() => undefined));
  }, WINDOW_MS);

  async function cut(w: Watched): Promise<void> {
    const now = await snapshot(w.redis.admin);
    const at = Date.now();
    // a timer's minute is never exactly one: count per actual minute
    w.windows.push(scaleTraffic(traffic(w.last, now), (at - w.lastAt) / WINDOW_MS));
    [w.last, w.lastAt] = [now, at];
  }

  return {
    async finish() {
      const left = Math.max(...watched.map((w) => w.firstAt)) + ctx.profile.idleMinMs - Date.now();
      if (left > 0) {
        progress(`idle: counting ${Math.ceil(left / 1000)} s more`);
        await sleep(left);
      }
      clearInterval(timer);
      await pending;
      const rows: Row[] = [];
      for (const w of watched) {
        const end = await snapshot(w.redis.admin);
        const totalMs = Date.now() - w.firstAt;
        // every snapshot but the first and last was a window cut: one INFO and one read each
        const cuts = w.windows.length;
        const total = traffic(w.first, end, { reads: cuts, calls: { info: cuts } });
        await w.worker.stop();
        await w.redis.stop();
        const extrapolated = w.windows.length === 0;
        const perMinute = extrapolated ? [scaleTraffic(total, totalMs / WINDOW_MS)] : w.windows;
        const whole = scaleTraffic(total, totalMs / WINDOW_MS);
        rows.push({
          id: w.id,
          scenario: "6. Idle cost",
          case: w.case,
          figures: {
            "client cmds/min": summarize(perMinute.map((t) => t.clientCommands)),
            "all cmds/min": summarize(perMinute.map((t) => t.allCommands)),
            "round trips/min": summarize(perMinute.map((t) => t.roundTrips)),
          },
          note: extrapolated
            ? `EXTRAPOLATED from ${(totalMs / 1000).toFixed(0)} s of idle time ` +
              `(shorter than one ${WINDOW_MS / 1000} s window)`
            : `${w.windows.length} window(s) of ${WINDOW_MS / 1000} s; ` +
              `per minute over all ${(totalMs / 1000).toFixed(0)} s: ${describeCommands(whole.perCommand)}`,
          detail: { idleMs: totalMs, totalCalls: total.perCommand, perMinute: whole.perCommand, windows: w.windows },
        });
      }
      return rows;
    },
  };
}
