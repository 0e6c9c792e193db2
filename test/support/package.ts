// edgeq as a user gets it, for test/package.test.ts: `npm pack`, the tarball
// installed into an empty project with a producer, a task module and the
// other entry points written there and type-checked once, and a redis-server
// of the project's own, before the file's tests (packing and installing take
// a while, so one file holds every test that needs them); commands run in
// that project, and its long-running commands started as a process manager
// would. `dir`, `project`, `tarball`, `typecheck`, `redisServer` and `redis`
// are live bindings, set once the file's beforeAll has run.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect } from "vitest";
import { startRedisServer, type RedisServer } from "./redis.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** The folder the project, the tarball and whatever the tests write live in. */
export let dir: string;
export let project: string;
export let tarball: string;
export let typecheck: Run;
export let redisServer: RedisServer;
export let redis: Redis;
const children = new Set<ChildProcess>();

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without npm's own variables: `npm test` sets npm_config_* that would steer the npm we run. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  return { ...env, ...extra };
}

export function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return new Promise<Run>((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? project, env: cleanEnv(options.env), timeout: 120_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Every file under a folder with its size and modification time, to see whether anything wrote there. */
export async function snapshot(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return Promise.all(files.sort().map(async (f) => `${f} ${(await stat(f)).size} ${(await stat(f)).mtimeMs}`));
}

const PRODUCER = `import { Redis } from "ioredis";
import { Queue, ValidationError, type JobView } from "edgeq";
import type tasks from "./tasks.js";

const redis = new Redis(process.env.REDIS_URL!);
const queue = new Queue<typeof tasks>("default", { redis, prefix: process.env.EDGEQ_PREFIX });
const job: JobView<string> = await queue.enqueue("greet", { name: "pack" }, { timeoutMs: 10_000 });
// @ts-expect-error a job's options are checked: timeoutMs is a number
await queue.enqueue("greet", { name: "x" }, { timeoutMs: "soon" }).catch((e) => e instanceof ValidationError);
console.log(JSON.stringify({ id: job.id }));
redis.disconnect();

// compile time only: the task module's types reach the producer
export async function typed(): Promise<string | null> {
  // @ts-expect-error no task of that name
  await queue.enqueue("greeet", { name: "x" });
  // @ts-expect-error greet takes a name
  await queue.enqueue("greet", { nom: "x" });
  return (await queue.waitFor(job.id)).result;
}
`;

const TASKS = `import { z } from "zod";
import { defineTask, defineTasks } from "edgeq/worker";

const tasks = defineTasks({
  greet: defineTask({
    args: z.object({ name: z.string() }),
    run: async ({ name }, ctx) => {
      // the horse loads pino for this line, from outside the package's folder
      ctx.logger.info({ name }, "greeting from a task module in TypeScript");
      return \`hello \${name} from attempt \${ctx.job.attempts}\`;
    },
  }),
});
export default tasks;
`;

// Type-checked only: the other entry points, as a user's code calls them.
const ENTRIES = `import { Hono } from "hono";
import { Redis } from "@upstash/redis";
import { EdgeqApiError, EdgeqClient, type JobView } from "edgeq/client";
import { createApp, createEdgeApp, readEnv } from "edgeq/edge";
import { Worker, type Task } from "edgeq/worker";

const app = new Hono();
const settings = readEnv({ UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" });
const redis = new Redis({ url: settings.redisUrl, token: settings.redisToken });
app.route("/queue", createEdgeApp({ ...settings, redis }));
export const same: typeof createApp = createEdgeApp;

const client = new EdgeqClient({ url: "/queue", key: "k" });
export async function use(): Promise<string> {
  try {
    const job: JobView = await client.enqueue("web", { task: "greet", args: { name: "x" } });
    for await (const update of client.events(job.id)) if (update.status === "finished") return String(update.result);
    const page = await client.list("web", "failed", { limit: 10 });
    // @ts-expect-error a page's cursor is a string or null
    const cursor: number = page.nextCursor;
    return String(cursor);
  } catch (error) {
    if (error instanceof EdgeqApiError) return \`\${error.status} \${error.type} \${error.errors?.[0]?.field}\`;
    throw error;
  }
}

export const task: Task = (args: { n: number }, ctx) => ctx.signal.aborted || args.n;
// @ts-expect-error a worker needs its queues, tasks and logger
export const worker = new Worker({ redisUrl: "redis://127.0.0.1" });
`;

/** Packs and installs the package into a new project before the calling file's tests; removes it all after them. */
export function installedPackage(): void {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "edgeq-package-"));
    project = join(dir, "project");
    await mkdir(project);
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);

    // npm pack runs prepack: the build
    const packed = await run("npm", ["pack", "--pack-destination", dir], { cwd: ROOT });
    expect(packed.code, packed.stderr).toBe(0);
    tarball = join(dir, (await readdir(dir)).find((f) => f.endsWith(".tgz"))!);

    const versionOf = async (name: string) =>
      JSON.parse(await readFile(join(ROOT, "node_modules", name, "package.json"), "utf8")).version as string;
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "user-app", private: true, type: "module" }));
    const installed = await run("npm", [
      "install",
      tarball,
      `@types/node@${await versionOf("@types/node")}`,
      `zod@${await versionOf("zod")}`,
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
    ]);
    expect(installed.code, installed.stderr).toBe(0);

    await writeFile(join(project, "producer.ts"), PRODUCER);
    await writeFile(join(project, "tasks.ts"), TASKS);
    await writeFile(join(project, "entries.ts"), ENTRIES);
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: true,
          types: ["node"],
          outDir: "out",
        },
        files: ["producer.ts", "tasks.ts", "entries.ts"],
      }),
    );
    // what the type check tests, and the producer that the job test runs
    typecheck = await run(process.execPath, [TSC, "-p", "."]);
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    redis?.disconnect();
    await redisServer?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
}

/** Starts a long-running command of the package as a process manager would; resolves once its output shows `ready`. */
export async function startService(argv: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: project,
    env: { ...cleanEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${argv.join(" ")} exited with ${code}:\n${output}`)));
  });
  return child;
}

/** SIGTERM, as `docker stop` and `systemctl stop` send; resolves with the exit code and signal. */
export async function stopService(child: ChildProcess): Promise<unknown[]> {
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const outcome = await exited;
  children.delete(child);
  return outcome;
}
