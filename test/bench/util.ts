// Progress goes to stderr, so stdout carries only the table and a redirect
// (`npm run bench > table.md`) captures just the results.
const began = performance.now();

export function progress(message: string): void {
  const seconds = Math.round((performance.now() - began) / 1000);
  const stamp = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  process.stderr.write(`[${stamp}] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `start` once; later calls share its outcome, failure included. */
export function once<T>(start: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  return () => (started ??= start());
}
