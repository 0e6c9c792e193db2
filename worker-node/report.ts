// One report of jobs that ended, as the script calls that carry it in one
// round trip: each job's last progress, then complete and fail for the jobs
// that ended (one a cold shutdown interrupted is put back instead; a lost one,
// which another worker owns now, is reported by nobody), the last of them
// claiming the worker's next jobs; and what the steps they answer say of each
// job. The worker (worker.ts) decides when to report and what to claim.
import type { Logger } from "pino";
import { isTerminal, type JobStatus, type Keys } from "../shared/index.ts";
import type { Call } from "../shared/script.ts";
import * as scripts from "../shared/scripts/index.ts";
import type { Completion, Failure, Step, Wants } from "../shared/scripts/index.ts";
import type { Running } from "./running.ts";
import type { RunOutcome } from "./span.ts";
import type { Outcome } from "./task.ts";

/** A job that ended and is not reported yet. */
export interface Ended {
  running: Running;
  outcome: Outcome;
}

/** What every step of the report says of the worker: see claim.lua. */
export interface StepBase {
  now: number;
  worker: string;
  running: string[];
  stopping?: "warm" | "cold";
}

export class Report {
  /** Every call, in order: the progress writes and requeues, then the reports. */
  readonly calls: Call<unknown>[] = [];
  /** The ids of the jobs reported (lost ones left out). */
  readonly jobIds: string[] = [];
  /** The complete and fail calls, last among `calls`: their replies are steps. */
  readonly #reports: Call<Step>[] = [];
  // the jobs of completions and of failures, in the same order
  readonly #completed: Ended[] = [];
  readonly #failed: Ended[] = [];
  /** Every job of the batch, whose span ends once the report is settled. */
  readonly #batch: Ended[];

  /** next: the jobs to claim with the report; claim: the call that claims them when no job is reported. */
  constructor(keys: Keys, batch: Ended[], base: StepBase, next: Wants | undefined, claim: () => Call<Step>) {
    const completions: Completion[] = [];
    const failures: Failure[] = [];
    this.#batch = batch;
    for (const ended of batch) {
      const { running, outcome } = ended;
      const { id } = running.job;
      const { held } = running;
      if (running.interrupted === "lost") continue;
      this.jobIds.push(id);
      // the tasks' last progress goes ahead of their outcomes, in the same round trip
      const progress = running.progressCall();
      if (progress) this.calls.push(progress);
      if (running.interrupted === "shutdown") {
        this.calls.push(scripts.requeue.call(keys, { now: base.now, ...held, worker: base.worker }));
      } else if (outcome.ok) {
        completions.push({ ...held, result: outcome.result });
        this.#completed.push(ended);
      } else {
        failures.push({ ...held, error: outcome.error, retryable: outcome.retryable });
        this.#failed.push(ended);
      }
    }
    // the last report claims the next jobs; with none, a plain claim does
    if (completions.length > 0) {
      const claims = failures.length === 0 ? next : undefined;
      this.#reports.push(scripts.complete.call(keys, { ...base, jobs: completions, next: claims }));
    }
    if (failures.length > 0) this.#reports.push(scripts.fail.call(keys, { ...base, jobs: failures, next }));
    if (this.#reports.length === 0 && next) this.#reports.push(claim());
    this.calls.push(...this.#reports);
  }

  /** The steps among the replies to `calls`; none when the replies never came (a stopping worker gave up). */
  steps(replies: unknown[] | undefined): Step[] {
    return (replies?.slice(this.calls.length - this.#reports.length) ?? []) as Step[];
  }

  /**
   * Logs the jobs whose lease was lost before their outcome arrived, and ends
   * each job's span with what became of it; whether a script put a callback
   * in the outbox (the worker then takes it first).
   */
  settle(steps: Step[], log: Logger): boolean {
    let callbacks = false;
    steps.forEach((step, i) => {
      // the steps follow the reports: complete (if any), then fail
      const jobs = i === 0 && this.#completed.length > 0 ? this.#completed : this.#failed;
      step.reported.forEach(({ ok, status }, j) => {
        const ended = jobs[j];
        if (!ended) return;
        const { job, span } = ended.running;
        span.end(ok ? outcomeOf(status) : "lost", ended.outcome.ok ? undefined : ended.outcome.error);
        if (!ok) log.warn({ jobId: job.id, status }, "the job's lease was lost before its outcome was reported");
        else if (job.callbackUrl && status !== "missing" && isTerminal(status)) callbacks = true;
      });
    });
    // the rest: put back, lost, or their report never answered
    for (const { running, outcome } of this.#batch) {
      const { interrupted, span } = running;
      const error = outcome.ok ? undefined : outcome.error;
      span.end(
        interrupted === "shutdown" ? "requeued" : interrupted === "lost" ? "lost" : error ? "failed" : "finished",
        error,
      );
    }
    return callbacks;
  }
}

/** A reported job's new status, as its run's span says how the run ended. */
function outcomeOf(status: JobStatus | "missing"): RunOutcome {
  if (status === "queued" || status === "scheduled") return "retry";
  return status === "finished" || status === "stopped" ? status : "failed";
}
