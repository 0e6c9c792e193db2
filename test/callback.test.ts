// callbackUrl: the worker POSTs the terminal job view to it, once, after the
// outcome is in Redis (retries first run their course).
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { Queue, type JobView } from "../shared/index.ts";
import { uniquePrefix } from "./support/redis.ts";
import { test } from "./support/worker.ts";

const redisUrl = inject("redisUrl");
const prefix = uniquePrefix("callback");
let redis: Redis;
let server: Server;
let url: string;
/** Callbacks received, by job id, and whoever waits for the next one of a job. */
const received = new Map<string, JobView[]>();
const waiting = new Map<string, (job: JobView) => void>();

beforeAll(async () => {
  redis = new Redis(redisUrl);
  server = createServer(async (req: IncomingMessage, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const job = JSON.parse(body) as JobView;
    received.set(job.id, [...(received.get(job.id) ?? []), job]);
    // the first delivery is refused once, to show the worker tries again
    const refuse =
      job.task === "echo" &&
      job.args &&
      (job.args as { refuseOnce?: boolean }).refuseOnce &&
      received.get(job.id)!.length === 1;
    res.writeHead(refuse ? 503 : 204).end();
    if (!refuse) waiting.get(job.id)?.(job);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
});

afterAll(async () => {
  server.close();
  const keys = await redis.keys(`{${prefix}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

function delivered(id: string): Promise<JobView> {
  return new Promise((resolve) => waiting.set(id, resolve));
}

describe("callbackUrl", () => {
  test("receives the finished job, and the failed one only after its retries", async ({ workers }) => {
    const queue = new Queue("default", { redis, prefix });
    await workers.start({ redis, redisUrl, prefix });

    const ok = await queue.enqueue("echo", { hello: "callback", refuseOnce: true }, { callbackUrl: url });
    const okDelivery = delivered(ok.id);
    const failing = await queue.enqueue("fail", { message: "nope" }, { callbackUrl: url, retry: { max: 1 } });
    const failDelivery = delivered(failing.id);

    const finished = await okDelivery;
    expect(finished).toMatchObject({ id: ok.id, status: "finished", result: { hello: "callback", refuseOnce: true } });
    expect(received.get(ok.id)!.length).toBe(2); // refused once, then accepted

    const failed = await failDelivery;
    expect(failed).toMatchObject({ id: failing.id, status: "failed", attempts: 2, error: { message: "nope" } });
    expect(received.get(failing.id)!.length).toBe(1);
    expect(await queue.getJob(failing.id)).toMatchObject({ status: "failed", attempts: 2 });
  });
});
