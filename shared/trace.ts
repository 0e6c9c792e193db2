// A job's trace context (W3C Trace Context: traceparent, tracestate), stored
// with the job so that the worker's span of each run is a child of whoever
// enqueued it: a producer's active OpenTelemetry context, or an HTTP
// request's headers. Only @opentelemetry/api is used: without an SDK the
// application registered, its propagator is a no-op and nothing is stored.
import { context, createTraceState, isSpanContextValid, propagation, type SpanContext } from "@opentelemetry/api";

/** What is stored with a job, in its hash fields of the same names. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** Version, trace id, parent id, flags; all-zero ids and version ff are invalid (W3C Trace Context, 3.2). */
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The most of tracestate kept: what W3C asks every vendor to pass on at least
 * (512 characters); a browser's longer one is dropped, not stored.
 */
const MAX_TRACESTATE = 512;
const TRACESTATE = /^[\x20-\x7e]*$/;

/**
 * The trace context in a carrier (an HTTP request's headers, or what a
 * propagator injected), read by `header`, or undefined: a malformed traceparent is ignored, never a reason
 * to refuse the job, and a tracestate is kept only beside a valid one.
 */
export function traceContextOf(
  header: (name: "traceparent" | "tracestate") => string | null | undefined,
): TraceContext | undefined {
  const traceparent = header("traceparent")?.trim().toLowerCase();
  if (!traceparent || !TRACEPARENT.test(traceparent)) return undefined;
  const tracestate = header("tracestate")?.trim();
  const fine = tracestate && tracestate.length <= MAX_TRACESTATE && TRACESTATE.test(tracestate);
  return fine ? { traceparent, tracestate } : { traceparent };
}

/** The producer's active context as a propagator writes it; undefined with no SDK registered, or no span active. */
export function activeTraceContext(): TraceContext | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent === undefined ? undefined : traceContextOf((name) => carrier[name]);
}

/**
 * The span a trace context names, remote, for a span to start as its child
 * (`trace.setSpanContext`). Parsed here rather than by a propagator: with no
 * SDK registered (Workers) the api's propagator is a no-op.
 */
export function spanContextOf(trace: TraceContext): SpanContext {
  const [, traceId, spanId, flags] = trace.traceparent.split("-") as [string, string, string, string];
  return {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    isRemote: true,
    ...(trace.tracestate && { traceState: createTraceState(trace.tracestate) }),
  };
}

/** A span's context as a job keeps it; undefined for an invalid one (a no-op span in no trace). */
export function traceContextOfSpan(span: SpanContext): TraceContext | undefined {
  if (!isSpanContextValid(span)) return undefined;
  const traceparent = `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, "0")}`;
  const tracestate = span.traceState?.serialize();
  return traceContextOf((name) => (name === "traceparent" ? traceparent : tracestate));
}

/** The trace id a stored traceparent names. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/** The job hash fields that store it. */
export function traceFields(trace: TraceContext): string[] {
  return trace.tracestate
    ? ["traceparent", trace.traceparent, "tracestate", trace.tracestate]
    : ["traceparent", trace.traceparent];
}
