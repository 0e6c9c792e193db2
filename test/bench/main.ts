// npm run bench [-- --quick] [-- --only ceilings,enqueue,process,e2e,replicas,idle,bounded,features]
//
// Starts its own redis-server (no persistence) on a free port, measures every
// scenario against it, prints one table to stdout (progress goes to stderr),
// and writes the same figures as JSON to bench-results/<timestamp>.json.
// Whatever happens (an error, Ctrl-C), every process it started is stopped.
import { parseArgs } from "node:util";
import { boundedWork } from "./bounded.ts";
import { killAllNow, stopAll } from "./children.ts";
import { pingContenders } from "./ceilings.ts";
import { PROFILES, startBenchRedis, type Context } from "./context.ts";
import { e2ePlan } from "./e2e.ts";
import { featureCosts } from "./features.ts";
import { enqueuePlan } from "./enqueue.ts";
import { startIdle, type IdleRun } from "./idle.ts";
import { measure, type Plan, type Row } from "./measure.ts";
import { processPlan } from "./process.ts";
import { replicasPlan } from "./replicas.ts";
import { evaluateTargets, loadAverage, machine, renderTable, writeJson } from "./report.ts";
import { progress } from "./util.ts";

const PLANS: Record<string, (ctx: Context) => Plan> = {
  ceilings: (ctx) => ({ groups: [pingContenders(ctx)] }),
  enqueue: enqueuePlan,
  process: processPlan,
  e2e: e2ePlan,
  replicas: replicasPlan,
};

const { values: args } = parseArgs({
  options: { quick: { type: "boolean", default: false }, only: { type: "string" } },
});
const only = args.only?.split(",").map((s) => s.trim());
// idle runs beside the others, bounded and features after them: none is a plan of rounds
const SOLO = ["idle", "bounded", "features"];
const unknown = only?.filter((name) => !SOLO.includes(name) && !(name in PLANS));
if (unknown?.length) {
  console.error(`bench: unknown scenario ${unknown.join(", ")}; known: ${[...Object.keys(PLANS), ...SOLO].join(", ")}`);
  process.exit(2);
}
const wanted = (name: string) => !only || only.includes(name);

// The last resort: nothing survives the bench, whatever ends it.
process.on("exit", killAllNow);
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress(`${signal}: stopping every process the bench started`);
    void stopAll().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const profile = PROFILES[args.quick ? "quick" : "full"];
  const startedAt = new Date().toISOString();
  const began = performance.now();
  const loadAtStart = loadAverage();
  const redis = await startBenchRedis();
  const ctx: Context = { redis, profile };
  progress(`${profile.name} run against redis-server ${redis.version} at ${redis.url}`);

  const rows: Row[] = [];
  let idle: IdleRun | undefined;
  if (wanted("idle")) idle = await startIdle(ctx);
  for (const [name, makePlan] of Object.entries(PLANS)) {
    if (!wanted(name)) continue;
    progress(`— ${name} —`);
    const plan = makePlan(ctx);
    try {
      for (const group of plan.groups) {
        // each group starts from an empty database: no earlier backlog to skew it
        await redis.admin.flushall();
        rows.push(...(await measure(group, profile.rounds)));
      }
    } finally {
      await plan.teardown?.();
    }
  }
  if (idle) rows.push(...(await idle.finish()));
  if (wanted("bounded")) {
    progress("— bounded —");
    rows.push(...(await boundedWork(ctx)));
  }
  if (wanted("features")) {
    progress("— features —");
    rows.push(...(await featureCosts(ctx)));
  }

  const meta = {
    startedAt,
    durationSec: Math.round((performance.now() - began) / 1000),
    profile,
    redis: redis.version,
    ...machine(),
    loadAverage: { start: loadAtStart, end: loadAverage() },
  };
  const targets = evaluateTargets(rows);
  process.stdout.write(renderTable(rows, targets, meta));
  const file = await writeJson(rows, targets, meta);
  process.stdout.write(`\nJSON: ${file}\n`);
  progress(`done in ${meta.durationSec} s`);
}

let code = 0;
try {
  await main();
} catch (error) {
  // after Ctrl-C, whatever was running fails as its processes go away: not news
  if (!interrupted) progress(`bench failed: ${(error as Error).stack ?? error}`);
  code = 1;
} finally {
  await stopAll();
}
process.exit(interrupted ? 130 : code);
