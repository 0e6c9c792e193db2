// The edge's span of one HTTP enqueue (OpenTelemetry's messaging conventions,
// a "send" span of kind producer), a child of the request's traceparent: the
// job keeps the span's own context, so the worker's span of each run is its
// child. On Workers, where no SDK is registered, the api's span is a no-op
// that is the request's context itself, and the job keeps exactly what the
// request sent.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { spanContextOf, traceContextOfSpan, type TraceContext } from "../shared/trace.ts";

const tracer = trace.getTracer("edgeq");

/**
 * Enqueues inside a producer span, `edgeq.enqueue <task>` (without the task
 * when a batch holds several): `submit` is given the trace context to keep
 * with the jobs and returns what it enqueued, whose id a single job's span
 * records. An error marks the span failed and is thrown on.
 */
export async function enqueueSpan<T extends { job: { id: string } }>(
  queue: string,
  tasks: readonly string[],
  received: TraceContext | undefined,
  submit: (trace: TraceContext | undefined) => Promise<T[]>,
): Promise<T[]> {
  const parent = received ? trace.setSpanContext(ROOT_CONTEXT, spanContextOf(received)) : ROOT_CONTEXT;
  const task = new Set(tasks).size === 1 ? tasks[0] : undefined;
  const span = tracer.startSpan(
    task === undefined ? "edgeq.enqueue" : `edgeq.enqueue ${task}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "edgeq",
        "messaging.operation.type": "send",
        "messaging.operation.name": "enqueue",
        "messaging.destination.name": queue,
        ...(task !== undefined && { "edgeq.task": task }),
        ...(tasks.length > 1 && { "messaging.batch.message_count": tasks.length }),
      },
    },
    parent,
  );
  // a span that records nothing is not exported: its job hangs off what the request sent
  const kept = span.isRecording() ? traceContextOfSpan(span.spanContext()) : received;
  try {
    const submitted = await submit(kept);
    if (submitted.length === 1) span.setAttribute("messaging.message.id", submitted[0]!.job.id);
    return submitted;
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    span.setAttribute("error.type", name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${name}: ${message}` });
    throw error;
  } finally {
    span.end();
  }
}
