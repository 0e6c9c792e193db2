// edgeq as a user gets it (test/support/package.ts packs and installs it):
// what the tarball holds, TypeScript against its declarations, a job run by
// its `edgeq` bin, the Worker entry bundled by wrangler from node_modules, and
// the processes compose.yaml starts from the Docker image and the systemd
// units in examples/systemd, run with the environment those give them.
import type { ChildProcess } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { Queue } from "../shared/index.ts";
import {
  dir,
  installedPackage,
  project,
  redis,
  redisServer,
  ROOT,
  run,
  snapshot,
  startService,
  stopService,
  tarball,
  typecheck,
} from "./support/package.ts";
import { freePort } from "./support/redis.ts";

const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

installedPackage();

describe("the package", () => {
  it("holds compiled JavaScript, declarations and the README, and nothing else", async () => {
    const listing = await run("tar", ["tzf", tarball]);
    const files = listing.stdout.trim().split("\n");
    expect(files).toEqual(expect.arrayContaining(["package/package.json", "package/README.md"]));
    const others = files.filter((f) => !["package/package.json", "package/README.md"].includes(f));
    expect(others.filter((f) => !/^package\/dist\/.+\.(js|d\.ts)$/.test(f))).toEqual([]);
    // the developer tooling (build, lint, the Lua generator, the dev runner) stays in the repository
    expect(files.filter((f) => f.startsWith("package/dist/tools/"))).toEqual([]);
    for (const entry of ["shared/index", "shared/client", "edge/index", "worker-node/index", "worker-node/cli/edgeq"]) {
      expect(files).toContain(`package/dist/${entry}.js`);
      expect(files).toContain(`package/dist/${entry}.d.ts`);
    }
  });

  it("type-checks a producer, a task module and the other entry points against its declarations", () => {
    expect(typecheck.stdout + typecheck.stderr).toBe("");
    expect(typecheck.code).toBe(0);
  });

  it("answers --help for the bin and each subcommand", async () => {
    for (const command of ["worker", "admin", "gateway"]) {
      const help = await run("npx", ["edgeq", command, "--help"]);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: edgeq ${command}`));
    }
    const bare = await run("npx", ["edgeq"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/worker[\s\S]*admin[\s\S]*gateway/);
  });

  it("runs a job of a TypeScript task module with `npx edgeq worker --burst`, writing only to a cache", async () => {
    const prefix = "edgeq-package";
    const cache = join(dir, "cache");
    const env = { REDIS_URL: redisServer.url, EDGEQ_PREFIX: prefix };
    const before = await snapshot(join(project, "node_modules", "edgeq"));

    const produced = await run(process.execPath, ["out/producer.js"], { env });
    expect(produced.code, produced.stderr).toBe(0);
    const { id } = JSON.parse(produced.stdout) as { id: string };

    const worker = await run("npx", ["edgeq", "worker", "--burst", "--tasks", "./tasks.ts"], {
      env: { ...env, EDGEQ_CACHE_DIR: cache },
    });
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stdout).toContain("greeting from a task module in TypeScript");

    const job = await new Queue("default", { redis, prefix }).getJob(id);
    expect(job).toMatchObject({ status: "finished", result: "hello pack from attempt 1" });
    expect((await readdir(cache)).some((f) => /^horse-[0-9a-f]{16}\.mjs$/.test(f))).toBe(true);
    expect(await snapshot(join(project, "node_modules", "edgeq"))).toEqual(before);
  });

  it("gives wrangler a Worker entry to deploy from node_modules, without node: imports", async () => {
    await mkdir(join(project, "src"), { recursive: true });
    await writeFile(join(project, "src", "index.ts"), `export { default } from "edgeq/edge/workers-entry";\n`);
    await writeFile(
      join(project, "wrangler.toml"),
      `name = "user-queue"\nmain = "src/index.ts"\ncompatibility_date = "2026-04-01"\n`,
    );
    const outdir = join(dir, "worker-bundle");
    const deploy = await run(process.execPath, [WRANGLER, "deploy", "--dry-run", "--outdir", outdir], {
      env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
    });
    expect(deploy.code, deploy.stderr).toBe(0);
    const bundle = await readFile(join(outdir, "index.js"), "utf8");
    expect(bundle).toContain("/v1/queues/");
    expect(bundle.match(/["'`]node:[\w/]+["'`]/g) ?? []).toEqual([]);
  });
});

/** The final stage's ENTRYPOINT and CMD of the Dockerfile, in exec form. */
async function imageCommand(): Promise<{ entrypoint: string[]; cmd: string[] }> {
  const text = await readFile(join(ROOT, "Dockerfile"), "utf8");
  const finalStage = text.slice(text.lastIndexOf("\nFROM "));
  const instruction = (name: string) => JSON.parse(new RegExp(`^${name} (\\[.*\\])$`, "m").exec(finalStage)![1]!);
  return { entrypoint: instruction("ENTRYPOINT"), cmd: instruction("CMD") };
}

/** Each stage of the Dockerfile: its RUN commands (continuation lines joined) and COPY lines. */
async function dockerStages(): Promise<{ runs: string[]; copies: string[] }[]> {
  const text = (await readFile(join(ROOT, "Dockerfile"), "utf8")).replace(/\\\n\s*/g, "");
  return text
    .split(/^FROM .*$/m)
    .slice(1)
    .map((stage) => ({
      runs: [...stage.matchAll(/^RUN (.*)$/gm)].map(([, command]) => command!),
      copies: [...stage.matchAll(/^COPY (.*)$/gm)].map(([, line]) => line!),
    }));
}

describe("the Dockerfile's installs, run as its RUN lines run them", () => {
  it("installs by npm ci in both stages: runtime dependencies at package-lock.json's versions only", async () => {
    const stages = await dockerStages();
    expect(stages).toHaveLength(2);
    const commands = (runs: string[]) => runs.flatMap((r) => r.split("&&").map((c) => c.trim()));
    // every install is from a lockfile: npm ci, never npm install with version ranges
    expect(commands(stages.flatMap((s) => s.runs)).filter((c) => /^npm (install|i|add)\b/.test(c))).toEqual([]);
    for (const stage of stages) expect(commands(stage.runs).some((c) => c.startsWith("npm ci "))).toBe(true);

    // the build stage's lockfile step, with this run's tarball as /tmp/edgeq.tgz, into a folder for /tmp/image
    const image = join(dir, "image");
    const lockStep = stages[0]!.runs.find((r) => r.includes("tools/image-lock.ts"))!;
    const made = await run(
      "sh",
      ["-c", lockStep.replaceAll("/tmp/edgeq.tgz", tarball).replaceAll("/tmp/image", image)],
      {
        cwd: ROOT,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    // the final stage copies that folder as /app and installs there (not the cache clean: it would empty this
    // machine's npm cache, and changes nothing in /app)
    expect(stages[1]!.copies).toContain("--from=build /tmp/image/ ./");
    for (const command of commands(stages[1]!.runs).filter((c) => !c.startsWith("npm cache clean"))) {
      const step = await run("sh", ["-c", command], { cwd: image, env: { NODE_ENV: "production" } });
      expect(step.code, step.stderr).toBe(0);
    }

    const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; dev?: boolean; optional?: boolean }>;
    };
    const installed = async (path: string) =>
      readFile(join(image, path, "package.json"), "utf8").then(
        (text) => (JSON.parse(text) as { version: string }).version,
        () => null,
      );
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === "" || entry.optional) continue;
      expect(await installed(path), path).toBe(entry.dev ? null : entry.version);
    }
    const help = await run(join(image, "node_modules", ".bin", "edgeq"), ["--help"], { cwd: image });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: edgeq/);
  });
});

/** Compose's variable substitution: ${NAME}, ${NAME:-default}, ${NAME:?error}. */
function interpolate(value: string, dotenv: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_all, name: string, kind?: string, text?: string) => {
    const set = dotenv[name];
    if (set) return set;
    if (kind === "?") throw new Error(`compose would refuse to start: ${text}`);
    return kind === "-" ? (text ?? "") : "";
  });
}

interface Service {
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
}

describe("compose.yaml's services, from the installed package", () => {
  it("start with the environment compose gives them, and a job enqueued at the edge is run by the worker", async () => {
    const compose = parse(await readFile(join(ROOT, "compose.yaml"), "utf8"), { merge: true }) as {
      services: Record<string, Service>;
    };
    const image = await imageCommand();
    const apiKey = "compose-test-key-0123456789abcdef";
    const dotenv = {
      GATEWAY_TOKEN: "compose-test-gateway-token",
      API_KEYS: JSON.stringify([{ name: "server", key: apiKey, scopes: ["enqueue", "read"] }]),
    };
    const gatewayPort = await freePort();
    const edgePort = await freePort();
    // The services find each other by name on the compose network; here they
    // are processes on loopback, each on a free port rather than its default.
    const addresses: Record<string, string> = {
      "redis:6379": `127.0.0.1:${redisServer.port}`,
      "gateway:8079": `127.0.0.1:${gatewayPort}`,
    };
    const here = {
      EDGEQ_PREFIX: "edgeq-compose",
      GATEWAY_PORT: String(gatewayPort),
      EDGE_PORT: String(edgePort),
      // not every interface of a machine others share
      GATEWAY_HOST: "127.0.0.1",
      EDGE_HOST: "127.0.0.1",
    };

    const start = (name: string, ready: RegExp): Promise<ChildProcess> => {
      const service = compose.services[name]!;
      // the compose spec: an entrypoint set by the service drops the image's CMD
      const argv = [
        ...(service.entrypoint ?? image.entrypoint),
        ...(service.command ?? (service.entrypoint ? [] : image.cmd)),
      ];
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        env[key] = interpolate(String(value), dotenv).replace(/(?<=\/\/)[\w-]+:\d+/, (a) => addresses[a] ?? a);
      }
      // the image's PATH and WORKDIR: its bin first, node_modules under the working directory
      const path = `${join(project, "node_modules", ".bin")}:${process.env.PATH}`;
      return startService(argv, { ...env, ...here, PATH: path }, ready);
    };

    const gateway = await start("gateway", /gateway listening/);
    const edge = await start("edge", /edgeq edge listening/);
    const worker = await start("worker", /worker started/);

    const created = await fetch(`http://127.0.0.1:${edgePort}/v1/queues/default/jobs`, {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ task: "echo", args: { hello: "compose" } }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const read = await fetch(`http://127.0.0.1:${edgePort}/v1/jobs/${id}?wait=10`, {
      headers: { Authorization: `Bearer ${apiKey}` },
    });
    expect(await read.json()).toMatchObject({ id, status: "finished", result: { hello: "compose" } });

    // `docker compose stop` sends SIGTERM: each stops cleanly
    for (const child of [worker, edge, gateway]) expect(await stopService(child)).toEqual([0, null]);
  });
});

/** A unit file's [Service] settings, each with every value it is given (Environment= repeats). */
async function serviceSection(unit: string): Promise<Map<string, string[]>> {
  const text = await readFile(join(ROOT, "examples", "systemd", unit), "utf8");
  const settings = new Map<string, string[]>();
  const section = text.slice(text.indexOf("[Service]"), text.indexOf("[Install]"));
  for (const [, key, value] of section.matchAll(/^(\w+)=(.*)$/gm)) {
    settings.set(key!, [...(settings.get(key!) ?? []), value!]);
  }
  return settings;
}

/** KEY=VALUE lines of an EnvironmentFile, as systemd reads them. */
async function environmentFile(path: string): Promise<Record<string, string>> {
  const text = await readFile(join(ROOT, "examples", "systemd", basename(path)), "utf8");
  return Object.fromEntries([...text.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map(([, k, v]) => [k!, v!]));
}

describe("the systemd units in examples/systemd, from the installed package", () => {
  it.each([
    ["edgeq-worker.service", /worker started/],
    ["edgeq-gateway.service", /gateway listening/],
  ])("%s starts its ExecStart with its environment and stops on systemd's SIGTERM", async (unit, ready) => {
    const settings = await serviceSection(unit);
    const home = settings.get("WorkingDirectory")![0]!;
    // the unit's own specifiers: %C is systemd's cache root (/var/cache for a system unit)
    const caches = join(dir, "var-cache");
    const local = (text: string) => text.replaceAll(home, project).replaceAll("%C", caches);
    const env: Record<string, string> = {};
    for (const file of settings.get("EnvironmentFile") ?? []) Object.assign(env, await environmentFile(file));
    for (const line of settings.get("Environment") ?? []) {
      const [key, ...value] = line.split("=");
      env[key!] = local(value.join("="));
    }
    // the example files' placeholders: this run's Redis, a free port
    const here = { REDIS_URL: redisServer.url, GATEWAY_PORT: String(await freePort()), EDGEQ_PREFIX: "edgeq-systemd" };
    const argv = local(settings.get("ExecStart")![0]!).split(/\s+/);
    const child = await startService(argv, { ...env, ...here }, ready);
    expect(await stopService(child)).toEqual([0, null]);
    if (env.EDGEQ_CACHE_DIR) expect((await readdir(env.EDGEQ_CACHE_DIR)).length).toBeGreaterThan(0);
  });
});
