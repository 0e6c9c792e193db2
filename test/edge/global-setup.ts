// Runs in Node before the workerd tests: a real redis-server (unless
// REDIS_URL names one) and the real REST gateway in front of it. The tests,
// inside workerd, reach the gateway over HTTP with the @upstash/redis client,
// as a deployed Worker reaches Upstash.
//
// The gateway runs as its own process (worker-node/gateway/main.ts, which
// calls startGateway): this project's Vite resolves modules for workerd
// (browser conditions, every dependency inlined), under which ioredis cannot
// load in-process. A separate process is also the production topology.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, startRedisServer, type RedisServer } from "../support/redis.ts";

const GATEWAY = fileURLToPath(new URL("../../worker-node/gateway/main.ts", import.meta.url));

let server: RedisServer | undefined;
let gateway: ChildProcess | undefined;

export async function setup(project: TestProject) {
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    server = await startRedisServer();
    redisUrl = server.url;
  }
  const token = crypto.randomUUID();
  const port = await freePort();
  gateway = spawn(process.execPath, ["--import", "tsx", GATEWAY], {
    env: { ...process.env, GATEWAY_TOKEN: token, REDIS_URL: redisUrl, GATEWAY_PORT: String(port), LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await untilListening(url, gateway);
  project.provide("gatewayUrl", url);
  project.provide("gatewayToken", token);
}

export async function teardown() {
  if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
    const exited = once(gateway, "exit");
    gateway.kill("SIGTERM");
    await exited;
  }
  await server?.destroy();
}

async function untilListening(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (let pause = 20; ; pause = Math.min(pause * 1.5, 250)) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode}`);
    // any HTTP answer (401 without a token) means it is up
    if (
      await fetch(url).then(
        () => true,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`the gateway did not listen on ${url} within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
