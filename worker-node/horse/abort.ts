// A job's abort signal, as a horse (child.ts) and an inline worker hand it to
// a task: its AbortController is made only once the task looks at ctx.signal
// or the job is aborted. Most tasks never do, and making one for every job is
// a measurable share of a job's own time (of a reused horse's ~40 µs hop, ~5).
export class JobAbort {
  #controller: AbortController | undefined;
  aborted = false;

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  abort(reason: Error): void {
    this.aborted = true;
    this.#controller ??= new AbortController();
    this.#controller.abort(reason);
  }
}
