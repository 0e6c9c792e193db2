// One redis-server for the whole run (unless REDIS_URL names one); every test
// file takes its own key prefix, so files run in parallel without colliding.
import type { TestProject } from "vitest/node";
import { startRedisServer, type RedisServer } from "./redis.ts";

let server: RedisServer | undefined;

export async function setup(project: TestProject) {
  let url = process.env.REDIS_URL;
  if (!url) {
    server = await startRedisServer();
    url = server.url;
  }
  project.provide("redisUrl", url);
}

export async function teardown() {
  await server?.destroy();
}
