// The whole system as `npm run dev` starts it: a redis-server, the gateway,
// the edge under wrangler dev (workerd) and a worker whose horse runs the demo
// task. Everything goes through HTTP, as a user's curl would.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./support/redis.ts";

let dev: ChildProcess;
let dir: string;
let output = "";
let edgeUrl: string;
let auth: Record<string, string>;
const pids: number[] = [];

/** Whether any process of the group `pid` leads (dev starts each part in its own group) is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeq-e2e-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EDGEQ_DEV_DIR: dir,
    EDGE_PORT: String(await freePort()),
    GATEWAY_PORT: String(await freePort()),
  };
  delete env.REDIS_URL;
  dev = spawn(process.execPath, ["--import", "tsx", "tools/dev.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const ready = new Promise<void>((resolve, reject) => {
    dev.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ctrl-C stops everything")) resolve();
    });
    dev.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    dev.once("exit", (code) => reject(new Error(`npm run dev exited with ${code}:\n${output}`)));
  });
  await ready;
  edgeUrl = output.match(/edge API\s+(http:\/\/\S+)/)![1]!;
  auth = { Authorization: `Bearer ${output.match(/^\s*dev API key\s+(\S+)/m)![1]}` };
  for (const match of output.matchAll(/pid (\d+)/g)) pids.push(Number(match[1]));
}, 120_000);

afterAll(async () => {
  if (dev.exitCode === null) {
    dev.kill("SIGKILL");
    for (const pid of pids) if (alive(pid)) process.kill(-pid, "SIGKILL");
  }
  await rm(dir, { recursive: true, force: true });
});

describe("npm run dev", () => {
  it("prints a curl line that enqueues a demo job and one that reads its result back", async () => {
    const enqueue = output.match(/-d '(\{.*\})'/)![1]!;
    const created = await fetch(`${edgeUrl}/v1/queues/default/jobs`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: enqueue,
    });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string };
    expect(created.headers.get("location")).toBe(`/v1/jobs/${job.id}`);

    const read = await fetch(output.match(/curl -s '(http:\/\/[^']+\?wait=5)'/)![1]!, { headers: auth });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      id: job.id,
      status: "finished",
      result: { hello: "world" },
      attempts: 1,
    });
  });

  it("prints the curl lines of the steps demo, whose events show its progress as it runs", async () => {
    const enqueue = [...output.matchAll(/-d '(\{.*\})'/g)].map((m) => m[1]!).find((b) => b.includes('"steps"'))!;
    const created = await fetch(`${edgeUrl}/v1/queues/default/jobs`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: enqueue,
    });
    expect(created.status).toBe(201);
    const events = await fetch(output.match(/curl -sN '(http:\/\/[^']+\/events)'/)![1]!, { headers: auth });
    expect(events.headers.get("content-type")).toMatch(/^text\/event-stream/);
    // the stream ends after the terminal status
    const stream = await events.text();
    const progress = [...stream.matchAll(/^event: progress\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!).progress);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toBe(100);
    expect(stream).toMatch(/^event: status\ndata: .*"status":"finished"/m);
  });

  it("runs a job in a horse and reports a failure with its error over HTTP", async () => {
    const created = await fetch(`${edgeUrl}/v1/queues/default/jobs`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ task: "fail", args: { message: "from e2e" } }),
    });
    const { id } = (await created.json()) as { id: string };
    const read = await fetch(`${edgeUrl}/v1/jobs/${id}?wait=10`, { headers: auth });
    const body = (await read.json()) as { status: string; error: { name: string; message: string } };
    expect(body.status).toBe("failed");
    expect(body.error).toMatchObject({ name: "Error", message: "from e2e" });
  });

  it("prints the worker's and the gateway's log lines for people, while they log JSON", async () => {
    await expect.poll(() => output).toMatch(/INFO.*worker started/);
    expect(output).toMatch(/INFO.*gateway listening/);
    expect(output).not.toMatch(/^\{"level"/m);
  });

  it("starts wrangler dev again when it stops by itself, printing its last lines, the rest running on", async () => {
    const edgePid = Number(output.match(/wrangler dev, pid (\d+)/)![1]);
    const from = output.length;
    const back = new Promise<string>((resolve) => {
      const onData = () => {
        const match = /the edge is back at \S+ \(wrangler dev, pid (\d+)\)/.exec(output.slice(from));
        if (match) {
          dev.stdout!.off("data", onData);
          resolve(match[1]!);
        }
      };
      dev.stdout!.on("data", onData);
    });
    // what a stray SIGTERM does to wrangler alone: it exits with code 0
    process.kill(edgePid, "SIGTERM");
    pids.push(Number(await back));
    expect(output.slice(from)).toMatch(/wrangler dev exited unexpectedly \(code 0: it was told to stop/);
    expect(alive(pids[1]!) && alive(pids[2]!)).toBe(true); // redis-server and the worker ran on
    const created = await fetch(`${edgeUrl}/v1/queues/default/jobs`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ task: "echo", args: { after: "restart" } }),
    });
    const { id } = (await created.json()) as { id: string };
    const read = await fetch(`${edgeUrl}/v1/jobs/${id}?wait=10`, { headers: auth });
    expect(await read.json()).toMatchObject({ status: "finished", result: { after: "restart" } });
  });

  it("stops everything on Ctrl-C and leaves no process behind", async () => {
    // redis-server, wrangler (and its workerd), the worker, and the wrangler started again
    expect(pids.length).toBe(4);
    dev.kill("SIGINT");
    const [code] = await once(dev, "exit");
    expect(code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  });
});
