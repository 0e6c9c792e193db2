// The tasks a worker runs when no --tasks module is given: enough to try
// every path of the system from a curl line.
import type { TaskContext } from "./task.ts";

export function echo(args: unknown): unknown {
  return args;
}

export async function sleep(args: { ms?: number }, { signal }: TaskContext): Promise<{ slept: number }> {
  const ms = Number(args?.ms ?? 1000);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
  return { slept: ms };
}

export function fail(args: { message?: string }): never {
  throw new Error(args?.message ?? "failed on purpose");
}

/** Exits the process abruptly, as a segfault or an OOM kill would. */
export function crash(args: { code?: number }): never {
  process.exit(args?.code ?? 1);
}

export function fib(args: { n?: number }): number {
  const n = Number(args?.n ?? 25);
  const f = (k: number): number => (k < 2 ? k : f(k - 1) + f(k - 2));
  return f(n);
}

/** n steps of ms each, reporting progress (and the step in meta) after each: watch it with GET ?wait or SSE. */
export async function steps(args: { n?: number; ms?: number }, ctx: TaskContext): Promise<{ steps: number }> {
  const n = Math.max(1, Math.min(1000, Number(args?.n ?? 10)));
  const ms = Math.max(0, Number(args?.ms ?? 500));
  for (let step = 1; step <= n; step++) {
    await sleep({ ms }, ctx);
    ctx.progress(Math.round((step / n) * 100));
    ctx.setMeta({ step });
  }
  return { steps: n };
}
