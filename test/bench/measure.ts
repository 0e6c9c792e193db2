// How a figure is made: every case is a Contender, measured in rounds; a
// figure is the median of its rounds, with their min and max. Cases that are
// compared with each other are measured as one group with their rounds
// interleaved (A B A B …), so a noisy neighbour on a shared machine slows
// both sides of a ratio alike instead of one.
import { Unavailable } from "./children.ts";
import { progress } from "./util.ts";

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Each round's value, in order. */
  rounds: number[];
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, rounds: values };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Figures of one round, by label ("jobs/s", "p50 ms" …). */
export type Figures = Record<string, number>;

export const SCENARIOS = [
  "1. Ceilings",
  "2. Enqueue",
  "3. Process no-op jobs",
  "4. End to end",
  "5. BullMQ",
  "6. Idle cost",
  "7. Bounded work",
  "8. Feature costs",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Row {
  /** Stable key, for targets and for comparing JSON files across runs. */
  id: string;
  scenario: Scenario;
  case: string;
  figures: Record<string, Summary>;
  note?: string;
  /** Set when the case could not run; the table shows it as a TODO. */
  unavailable?: string;
  /** Anything else worth keeping in the JSON (per-command counts …). */
  detail?: unknown;
}

export interface Contender {
  id: string;
  scenario: Scenario;
  case: string;
  /** Starts what the case needs (a worker, a server); may throw Unavailable. */
  start?(): Promise<void>;
  /** One round; a warm-up round is discarded (JIT, script cache, connection pools, spare children). */
  round(kind: "warmup" | "measure"): Promise<Figures>;
  /** Freezes the case's processes while another case of the group is measured. */
  pause?(): void;
  stop?(): Promise<void>;
  note?: string;
  detail?: unknown;
}

/** Groups of cases to measure, and what to stop once they are all done. */
export interface Plan {
  groups: Contender[][];
  teardown?(): Promise<void>;
}

/** Measures a group of cases with interleaved rounds; always stops them. */
export async function measure(group: Contender[], rounds: number): Promise<Row[]> {
  const unavailable = new Map<Contender, string>();
  const results = new Map<Contender, Figures[]>();
  const active = () => group.filter((c) => !unavailable.has(c));
  try {
    for (const c of group) {
      try {
        await c.start?.();
        c.pause?.();
      } catch (error) {
        if (!(error instanceof Unavailable)) throw error;
        unavailable.set(c, error.message);
        progress(`${c.case}: not available (${error.message})`);
      }
    }
    for (const c of active()) {
      pauseAll(group);
      progress(`${c.case}: warm-up`);
      await c.round("warmup");
    }
    for (let r = 1; r <= rounds; r++) {
      for (const c of active()) {
        pauseAll(group);
        const figures = await c.round("measure");
        results.set(c, [...(results.get(c) ?? []), figures]);
        progress(`${c.case}: round ${r}/${rounds}: ${describe(figures)}`);
      }
    }
  } finally {
    for (const c of group) await c.stop?.();
  }
  return group.map((c) => {
    const row: Row = { id: c.id, scenario: c.scenario, case: c.case, figures: {}, note: c.note, detail: c.detail };
    if (unavailable.has(c)) return { ...row, unavailable: unavailable.get(c) };
    const perRound = results.get(c) ?? [];
    for (const label of Object.keys(perRound[0] ?? {})) {
      row.figures[label] = summarize(perRound.map((f) => f[label]!));
    }
    return row;
  });
}

function pauseAll(group: Contender[]): void {
  for (const c of group) c.pause?.();
}

function describe(figures: Figures): string {
  return Object.entries(figures)
    .map(([label, value]) => `${formatNumber(value)} ${label}`)
    .join(", ");
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export interface Load {
  ops: number;
  elapsedMs: number;
  latenciesMs: number[];
}

/**
 * Closed-loop load: `concurrency` loops, each awaiting one operation before
 * starting the next, until the time is up. The rate counts operations that
 * finished, over the time until the last one did.
 */
export async function runLoad(op: () => Promise<unknown>, durationMs: number, concurrency: number): Promise<Load> {
  const latenciesMs: number[] = [];
  const began = performance.now();
  const until = began + durationMs;
  const loop = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      await op();
      latenciesMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ops: latenciesMs.length, elapsedMs: performance.now() - began, latenciesMs };
}

/** Rate (per op, times `perOp` units: jobs in a batch) and latency percentiles of a load. */
export function loadFigures(load: Load, rateLabel: string, perOp = 1): Figures {
  return {
    [rateLabel]: (load.ops * perOp) / (load.elapsedMs / 1000),
    "p50 ms": percentile(load.latenciesMs, 50),
    "p99 ms": percentile(load.latenciesMs, 99),
  };
}

/** A case that is only a closed-loop load (no process of its own). */
export function loadContender(spec: {
  id: string;
  scenario: Scenario;
  case: string;
  op: () => Promise<unknown>;
  durationMs: number;
  concurrency: number;
  rateLabel: string;
  perOp?: number;
  note?: string;
  start?: () => Promise<void>;
}): Contender {
  return {
    id: spec.id,
    scenario: spec.scenario,
    case: spec.case,
    note: spec.note,
    start: spec.start,
    async round(kind) {
      const duration = kind === "warmup" ? Math.min(spec.durationMs, 300) : spec.durationMs;
      return loadFigures(await runLoad(spec.op, duration, spec.concurrency), spec.rateLabel, spec.perOp);
    },
  };
}
