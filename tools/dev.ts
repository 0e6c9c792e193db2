// `npm run dev`: the whole system on one machine. A redis-server with AOF in
// .edgeq/redis (unless REDIS_URL names one), the REST gateway in front of it,
// the edge app under `wrangler dev`, and one worker with the demo tasks.
// Ctrl-C stops all of it. If wrangler dev stops by itself, the runner prints
// its last lines and starts it again, the rest running on.
//
// wrangler dev exits with code 0 whenever it is told to stop: its SIGINT and
// SIGTERM handlers end the process with process.exit() (wrangler 4), and its
// [x]/[q] hotkeys tear it down, those only when stdin and stdout are both a
// terminal. Its stdin here is /dev/null and --show-interactive-dev-session=false
// keeps the hotkeys off, so stdin's end cannot stop it: a "code 0" is a signal
// that reached wrangler alone, and the runner says so.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import pretty from "pino-pretty";
import { DEFAULTS } from "../shared/defaults.ts";
import { readListenEnv } from "../shared/settings.ts";
import { orExit, readGatewayEnv } from "../worker-node/config.ts";
import { errorMessage } from "../worker-node/gateway/protocol.ts";
import { startGateway, type Gateway } from "../worker-node/gateway/server.ts";
import { freePort, redisServerArgs } from "../worker-node/local-redis.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const DATA_DIR = resolve(process.env.EDGEQ_DEV_DIR ?? join(ROOT, ".edgeq"));
const { EDGE_PORT } = orExit("npm run dev", () => readListenEnv(process.env));

const running: { redis?: ChildProcess; gateway?: Gateway; edge?: ChildProcess; worker?: ChildProcess } = {};
let stopping = false;
/** The lines of a child's output kept to show when it exits unexpectedly. */
const TAIL_LINES = 30;
/** The edge is started again after an unexpected exit at most this many times a minute, then the runner stops. */
const EDGE_RESTARTS_PER_MINUTE = 3;

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

async function fatal(message: string): Promise<never> {
  process.stderr.write(`edgeq dev: ${message}\n`);
  await shutdown(1);
  throw new Error(message);
}

/**
 * Log lines for the person at the terminal. The processes themselves log
 * JSON lines, as they do in production where a collector reads them; lines
 * that are not JSON pass as they are.
 */
function forPeople(): NodeJS.WritableStream {
  return pretty({
    colorize: process.stdout.isTTY,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
    singleLine: true,
  });
}

/** Passes a child's output on, keeping its last lines. */
function tailOf(child: ChildProcess, stdout: NodeJS.WritableStream): () => string[] {
  const lines: string[] = [];
  let partial = "";
  const keep = (chunk: Buffer): void => {
    const parts = (partial + chunk.toString()).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
    lines.splice(0, lines.length - TAIL_LINES);
  };
  child.stdout!.on("data", keep).pipe(stdout);
  child.stderr!.on("data", keep).pipe(process.stderr);
  return () => (partial ? [...lines, partial] : lines).slice(-TAIL_LINES);
}

/** How a child ended, in words: wrangler's code 0 is its answer to a signal. */
function ending(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return signal;
  return code === 0 ? "code 0: it was told to stop, by SIGINT or SIGTERM or a teardown" : `code ${code}`;
}

/**
 * Starts a child in its own process group, so stopping it stops its children
 * too (wrangler → workerd); `json` children log through forPeople(). When it
 * exits unexpectedly its last lines are printed, then `restart` runs, or
 * everything stops.
 */
function start(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  logs: "json" | "text" = "text",
  restart?: () => void,
): ChildProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lastLines = tailOf(child, logs === "json" ? forPeople() : process.stdout);
  child.once("exit", (code, signal) => {
    if (stopping) return;
    const lines = lastLines();
    process.stderr.write(`edgeq dev: ${name} exited unexpectedly (${ending(code, signal)})`);
    process.stderr.write(lines.length ? `; its last lines:\n${lines.map((l) => `  | ${l}`).join("\n")}\n` : "\n");
    if (restart) restart();
    else void fatal(`${name} is gone`);
  });
  return child;
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 50; Date.now() < deadline; pause = Math.min(pause * 1.5, 500)) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, pause));
  }
  await fatal(`${what} did not come up within ${timeoutMs / 1000} s`);
}

async function startRedis(): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  if (spawnSync("redis-server", ["--version"]).error) {
    await fatal(
      "redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; " +
        "macOS: `brew install redis`), or set REDIS_URL to a Redis you already run.",
    );
  }
  const dir = join(DATA_DIR, "redis");
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  // AOF, every write synced: a job enqueued before Ctrl-C is there after a restart
  running.redis = start("redis-server", "redis-server", redisServerArgs(port, dir, true, "redis.log"));
  await waitFor("redis-server", async () => {
    const probe = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
    return probe.error ? await tcpOpen(port) : probe.stdout.trim() === "PONG";
  });
  return `redis://127.0.0.1:${port}`;
}

async function tcpOpen(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolveOpen) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.end();
      resolveOpen(true);
    });
    socket.once("error", () => resolveOpen(false));
  });
}

interface DevSecrets {
  apiKey: string;
  gatewayToken: string;
  /** Standard Webhooks secret for the worker's callbacks, so a local receiver can verify them. */
  callbackSecret: string;
}

/** A dev key with every scope, kept across runs so curl lines keep working. */
async function devSecrets(): Promise<DevSecrets> {
  const file = join(DATA_DIR, "dev-secrets.json");
  const kept: Partial<DevSecrets> = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : {};
  if (kept.apiKey && kept.gatewayToken && kept.callbackSecret) return kept as DevSecrets;
  const secrets: DevSecrets = {
    apiKey: kept.apiKey ?? `dev_${randomBytes(18).toString("base64url")}`,
    gatewayToken: kept.gatewayToken ?? randomBytes(24).toString("base64url"),
    callbackSecret: kept.callbackSecret ?? `whsec_${randomBytes(24).toString("base64")}`,
  };
  await mkdir(DATA_DIR, { recursive: true });
  await writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

function signalGroup(leader: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-leader, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a child's whole process group (the worker's horses, wrangler's
 * workerd) and waits until none of it is left.
 */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || !signalGroup(child.pid, "SIGTERM")) return;
  const deadline = Date.now() + 10_000;
  while (signalGroup(child.pid, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  signalGroup(child.pid, "SIGKILL");
}

/** Worker first (a warm shutdown finishes its job), Redis last. */
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stop(running.worker);
  await stop(running.edge);
  await running.gateway?.close();
  await stop(running.redis);
  process.exit(code);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

const redisUrl = await startRedis();
const { apiKey, gatewayToken, callbackSecret } = await devSecrets();
// GATEWAY_PORT, GATEWAY_ACL and GATEWAY_UPSTASH_PARITY read as the gateway reads them alone: GATEWAY_ACL=off
// is the way out when the gateway refuses REDIS_URL's user (README: "The gateway's Redis user"). fatal() stops
// the dev redis-server too.
const gateway = await Promise.resolve()
  .then(() => readGatewayEnv({ ...process.env, GATEWAY_TOKEN: gatewayToken }))
  .then((settings) =>
    startGateway({
      redisUrl,
      token: gatewayToken,
      port: settings.GATEWAY_PORT,
      acl: settings.GATEWAY_ACL,
      upstashParity: settings.GATEWAY_UPSTASH_PARITY,
      logger: pino({ level: settings.LOG_LEVEL }, forPeople()),
    }),
  )
  .catch((error: unknown) => fatal(`the REST gateway did not start: ${errorMessage(error)}`));
running.gateway = gateway;

const envFile = join(DATA_DIR, "edge.env");
const edgeEnv = {
  UPSTASH_REDIS_REST_URL: gateway.url,
  UPSTASH_REDIS_REST_TOKEN: gatewayToken,
  API_KEYS: JSON.stringify([{ key: apiKey, scopes: ["enqueue", "read", "admin"] }]),
  EDGEQ_PREFIX: process.env.EDGEQ_PREFIX || DEFAULTS.prefix,
};
// single quotes: dotenv takes the JSON inside literally
await writeFile(
  envFile,
  `${Object.entries(edgeEnv)
    .map(([k, v]) => `${k}='${v}'`)
    .join("\n")}\n`,
  { mode: 0o600 },
);

const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const edgeUrl = `http://127.0.0.1:${EDGE_PORT}`;
const edgeRestarts: number[] = [];

/** wrangler dev, with stdin at /dev/null and no hotkeys: only a signal or a crash stops it. */
function startEdge(): ChildProcess {
  const args = [
    wrangler,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(EDGE_PORT),
    "--env-file",
    envFile,
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
    "--persist-to",
    join(DATA_DIR, "wrangler"),
  ];
  const env = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  running.edge = start("wrangler dev", process.execPath, args, env, "text", () => void restartEdge());
  return running.edge;
}

/** The edge again, the rest running on; a few times a minute at most, then everything stops. */
async function restartEdge(): Promise<void> {
  const now = Date.now();
  edgeRestarts.push(now);
  while ((edgeRestarts[0] ?? now) < now - 60_000) edgeRestarts.shift();
  if (edgeRestarts.length > EDGE_RESTARTS_PER_MINUTE) {
    await fatal(`wrangler dev stopped ${edgeRestarts.length} times in a minute; not starting it again`);
  }
  // what is left of its process group (workerd) frees the port first
  await stop(running.edge);
  const edge = startEdge();
  await waitFor("the edge (wrangler dev)", async () => (await fetch(`${edgeUrl}/healthz`)).ok);
  say(`edgeq dev: the edge is back at ${edgeUrl} (wrangler dev, pid ${edge.pid}); the rest ran on`);
}

const edge = startEdge();
await waitFor("the edge (wrangler dev)", async () => (await fetch(`${edgeUrl}/healthz`)).ok);

const worker = start(
  "the worker",
  process.execPath,
  ["--import", "tsx", join(ROOT, "worker-node", "main.ts"), "--queues", "default"],
  {
    REDIS_URL: redisUrl,
    EDGEQ_CALLBACK_SECRET: callbackSecret,
    // a receiver on this machine is what one tries first; production workers refuse loopback
    EDGEQ_CALLBACK_ALLOW: process.env.EDGEQ_CALLBACK_ALLOW || "127.0.0.1,::1,localhost",
  },
  "json",
);
running.worker = worker;

const demoId = `demo-${Date.now().toString(36)}`;
say();
say("edgeq is running:");
say(`  edge API      ${edgeUrl}  (wrangler dev, pid ${edge.pid})`);
say(`  dashboard     ${edgeUrl}/dashboard  (sign in with the dev API key below)`);
say(`  REST gateway  ${gateway.url}`);
const redisNote = running.redis ? `  (pid ${running.redis.pid}, data in ${join(DATA_DIR, "redis")})` : "";
say(`  redis         ${redisUrl}${redisNote}`);
say(`  worker        pid ${worker.pid}, queue "default", demo tasks: echo, sleep, fail, crash, fib, steps`);
say(`  dev API key   ${apiKey}   (scopes: enqueue, read, admin)`);
say(`  callbacks     signed with ${callbackSecret}; loopback receivers allowed (dev only)`);
say();
say("Enqueue a demo job:");
const demoBody = JSON.stringify({ task: "echo", args: { hello: "world" }, options: { id: demoId } });
say(
  `  curl -s -X POST ${edgeUrl}/v1/queues/default/jobs -H 'Authorization: Bearer ${apiKey}' ` +
    `-H 'Content-Type: application/json' -d '${demoBody}'`,
);
say("Read it back (waits up to 5 s for the result):");
say(`  curl -s '${edgeUrl}/v1/jobs/${demoId}?wait=5' -H 'Authorization: Bearer ${apiKey}'`);
say("Follow a job's progress as it happens (steps: n steps of ms each):");
const stepsBody = JSON.stringify({ task: "steps", args: { n: 5, ms: 400 }, options: { id: `${demoId}-steps` } });
say(
  `  curl -s -X POST ${edgeUrl}/v1/queues/default/jobs -H 'Authorization: Bearer ${apiKey}' ` +
    `-H 'Content-Type: application/json' -d '${stepsBody}'`,
);
say(`  curl -sN '${edgeUrl}/v1/jobs/${demoId}-steps/events' -H 'Authorization: Bearer ${apiKey}'`);
say();
say("Ctrl-C stops everything.");
