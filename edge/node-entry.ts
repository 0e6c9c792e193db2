// The Node entry run by path (node-server.ts says what it reads); the bin's
// `edgeq edge` runs the same server and exports its spans too.
//
//   UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079 UPSTASH_REDIS_REST_TOKEN=… API_KEYS='[…]' tsx edge/node-entry.ts
import { serveEdgeOnNode } from "./node-server.ts";

serveEdgeOnNode();
