// The gateway's span of one HTTP request (kind server, OpenTelemetry's HTTP
// conventions), named by its method and command path alone (`POST /pipeline`,
// `GET /get`): the rest of a path is user data, and neither arguments nor
// headers (the token) are recorded, only how many commands it carried. A
// child of the request's traceparent when it has one. With no SDK registered
// (the gateway's OTLP export off) the span is a no-op.
import type { IncomingMessage } from "node:http";
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";

const tracer = trace.getTracer("edgeq-gateway");

export class RequestSpan {
  readonly #span: Span;

  constructor(req: IncomingMessage, path: string) {
    const method = req.method ?? "GET";
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    this.#span = tracer.startSpan(
      `${method} ${path}`,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "http.route": path } },
      parent,
    );
  }

  /** How many commands the request carried: one, or a pipeline's or a transaction's. */
  commands(count: number): void {
    this.#span.setAttribute("edgeq.gateway.commands", count);
  }

  /** Ends it with the response's status: a 5xx is an error of the server's, a 4xx the client's. */
  end(status: number): void {
    this.#span.setAttribute("http.response.status_code", status);
    if (status >= 500) this.#span.setStatus({ code: SpanStatusCode.ERROR });
    this.#span.end();
  }
}
