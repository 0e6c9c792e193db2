// `edgeq edge`: the edge API on Node (edge/node-server.ts), in this process
// after its OTLP export has started when the OTEL_* variables ask for it
// (worker-node/tracing.ts), so the edge's enqueue spans leave as the
// worker's do; the spans not yet sent go out when a signal stops it.
import { startCommandTracing } from "../tracing.ts";

const USAGE = `usage: edgeq edge
Serves the edge API (the app Cloudflare Workers runs) on Node, in front of the
gateway, until SIGTERM or SIGINT. It takes no arguments; the environment sets it:
  UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN   the gateway (or Upstash) it reaches (required)
  API_KEYS, CORS_ORIGINS, EDGEQ_PREFIX, …           as on Workers (README, "Configuration")
  EDGE_HOST               address to listen on (default 127.0.0.1)
  EDGE_PORT               port (default 8787)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME (default edgeq-edge), …   its spans over OTLP`;

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
  console.log(USAGE);
  process.exit(0);
}
if (args.length > 0) {
  console.error(`edgeq edge: it takes no arguments, got "${args.join(" ")}"\n${USAGE}`);
  process.exit(2);
}

const tracing = startCommandTracing("edgeq edge", "edgeq-edge");
// the one import from worker-node/ into edge/ (tools/imports.ts): the bin runs the edge's Node server
const { serveEdgeOnNode } = await import("../../edge/node-server.ts");
serveEdgeOnNode(async () => {
  await tracing?.shutdown();
});
