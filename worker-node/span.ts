// The span of one run of a job (OpenTelemetry's messaging conventions, a
// "process" span of kind consumer), a child of the context its producer
// stored with the job (shared/trace.ts), and the context its task runs in:
// inline, the span's own; in a horse, the one its traceparent names. Through
// @opentelemetry/api alone: with no SDK registered, the span is a no-op that
// records nothing and gives a horse nothing to carry.
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from "@opentelemetry/api";
import type { Job, JobError } from "../shared/index.ts";

const tracer = trace.getTracer("edgeq");

/** How a run ended, as the span's edgeq.outcome says it. */
export type RunOutcome = "finished" | "failed" | "retry" | "stopped" | "suspended" | "requeued" | "lost";

export class RunSpan {
  readonly #span: Span;
  #ended = false;

  constructor(job: Job) {
    const parent = job.traceparent ? propagation.extract(ROOT_CONTEXT, job) : ROOT_CONTEXT;
    this.#span = tracer.startSpan(`edgeq.process ${job.task}`, { kind: SpanKind.CONSUMER }, parent);
    if (!this.#span.isRecording()) return;
    this.#span.setAttributes({
      "messaging.system": "edgeq",
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.destination.name": job.queue,
      "messaging.message.id": job.id,
      "edgeq.task": job.task,
      "edgeq.attempt": job.attempts,
    });
  }

  /** The span's W3C traceparent, for a horse to run the task in; undefined when there is no trace to carry. */
  get traceparent(): string | undefined {
    if (!isSpanContextValid(this.#span.spanContext())) return undefined;
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, this.#span), carrier);
    return carrier.traceparent;
  }

  /** Runs an inline task inside the span's context. */
  run<T>(fn: () => T): T {
    if (!isSpanContextValid(this.#span.spanContext())) return fn();
    return context.with(trace.setSpan(context.active(), this.#span), fn);
  }

  /** Ends the span, once: an error marks it failed (the run failed, whether or not the job is retried). */
  end(outcome: RunOutcome, error?: JobError): void {
    if (this.#ended) return;
    this.#ended = true;
    const span = this.#span;
    if (span.isRecording()) {
      span.setAttribute("edgeq.outcome", outcome);
      if (error) {
        span.setAttribute("error.type", error.name);
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
      }
    }
    span.end();
  }
}

/** Runs a horse's task in the context of its run's span, as the worker handed it over. */
export function inTraceparent<T>(traceparent: string | undefined, fn: () => T): T {
  if (!traceparent) return fn();
  return context.with(propagation.extract(ROOT_CONTEXT, { traceparent }), fn);
}
