// OTLP export of the bin's spans (a worker's and its horses', the gateway's,
// the Node edge's), when the standard OTEL_*
// variables ask for it: an endpoint set, over HTTP with protobuf (the
// default) or JSON. The official SDK packages are required only then, so an
// unset endpoint loads none of them; the SDK reads the rest of its variables
// itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and
// _ARG, OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*). An application that registers
// its own SDK instead leaves these unset: edgeq's spans go to its provider.
// Bundled into every horse: it imports nothing of edgeq's (settings.ts would bring zod).
import { createRequire } from "node:module";

export interface Tracing {
  /** Sends the spans not yet exported and stops: on the way out of the process. */
  shutdown(): Promise<void>;
}

const PROTOCOLS = ["http/protobuf", "http/json"] as const;

/** The variables a horse is given besides its usual few, so that it exports as its worker does. */
export function tracingEnvNames(env: NodeJS.ProcessEnv = process.env): string[] {
  return tracingWanted(env) ? Object.keys(env).filter((name) => name.startsWith("OTEL_")) : [];
}

function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return Boolean(endpoint) && env.OTEL_SDK_DISABLED !== "true" && env.OTEL_TRACES_EXPORTER !== "none";
}

/**
 * Registers a tracer provider that exports over OTLP, when `env` asks for
 * one; undefined otherwise. `load` is the require the packages come from (a
 * horse's bundle lives in a cache directory and resolves them as its worker
 * does); `serviceName` is the default OTEL_SERVICE_NAME overrides. A
 * RangeError names a protocol it cannot speak.
 */
export function startTracing(
  env: NodeJS.ProcessEnv,
  load: NodeJS.Require,
  serviceName = "edgeq-worker",
): Tracing | undefined {
  if (!tracingWanted(env)) return undefined;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf";
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new RangeError(`OTEL_EXPORTER_OTLP_PROTOCOL must be ${PROTOCOLS.join(" or ")}, got "${protocol}"`);
  }
  const { NodeTracerProvider } = load(
    "@opentelemetry/sdk-trace-node",
  ) as typeof import("@opentelemetry/sdk-trace-node");
  const { BatchSpanProcessor } = load(
    "@opentelemetry/sdk-trace-base",
  ) as typeof import("@opentelemetry/sdk-trace-base");
  const resources = load("@opentelemetry/resources") as typeof import("@opentelemetry/resources");
  // the exporter finds its endpoint, headers and timeout in the environment, as the specification says
  const { OTLPTraceExporter } = load(
    protocol === "http/json" ? "@opentelemetry/exporter-trace-otlp-http" : "@opentelemetry/exporter-trace-otlp-proto",
  ) as typeof import("@opentelemetry/exporter-trace-otlp-proto");
  const resource = resources
    .resourceFromAttributes({ "service.name": serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

/** startTracing for a command of the bin (`edgeq worker`, `gateway`, `edge`): a bad setting stops it at start. */
export function startCommandTracing(command: string, serviceName: string): Tracing | undefined {
  try {
    return startTracing(process.env, createRequire(import.meta.url), serviceName);
  } catch (error) {
    console.error(`${command}: ${(error as Error).message}`);
    process.exit(1);
  }
}
