// Serves the browser example as any static host would: the page, edgeq's
// client as an ES module (the package's compiled file, untouched), and
// config.json from the environment. No build step, no dependencies.
//
//   EDGEQ_URL=https://edgeq.example.workers.dev EDGEQ_BROWSER_KEY=… EDGEQ_QUEUE=web \
//     node serve.mjs [--port 8080] [--host 127.0.0.1] [--client path/to/client.js]
//
// The API must let this page's origin in: CORS_ORIGINS=http://127.0.0.1:8080.
// The key is a browser key, one that may only enqueue and read on one queue:
// whatever a page holds, its visitors can read.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    // default: the client of the edgeq package installed beside this page
    client: { type: "string" },
  },
});
const client = values.client ?? fileURLToPath(import.meta.resolve("edgeq/client"));
const config = JSON.stringify({
  url: process.env.EDGEQ_URL ?? "http://127.0.0.1:8787",
  key: process.env.EDGEQ_BROWSER_KEY ?? "",
  queue: process.env.EDGEQ_QUEUE ?? "web",
});

const FILES = {
  "/": [new URL("index.html", import.meta.url), "text/html; charset=utf-8"],
  "/edgeq-client.js": [client, "text/javascript; charset=utf-8"],
};

const server = createServer(async (request, response) => {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (path === "/config.json") {
    response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    response.end(config);
    return;
  }
  const file = FILES[path];
  if (!file) {
    response.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    return;
  }
  response.writeHead(200, { "Content-Type": file[1], "Cache-Control": "no-cache" });
  response.end(await readFile(file[0]));
});

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  console.log(`edgeq browser example on http://${values.host}:${port}/`);
});
