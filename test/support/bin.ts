// The bin's long-running servers as real processes, started as an operator
// starts them: `node --import tsx worker-node/cli/edgeq.ts gateway|edge`,
// with only the environment given (no OTEL_* of this process's leaks in).
// Resolves once the process says where it listens. Every one still running
// when the test run ends is killed.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Exit } from "./worker.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface BinServer {
  /** Where it says it listens: http://127.0.0.1:<port>. */
  url: string;
  /** What it printed so far. */
  readonly output: string;
  /** SIGTERM, as a process manager stops it; resolves with how it exited. */
  stop(): Promise<Exit>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** `preload`: modules run before the bin (`--import`), from the repository's root. */
export async function startBin(
  command: "gateway" | "edge",
  env: Record<string, string>,
  preload: string[] = [],
): Promise<BinServer> {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_"));
  const imports = ["tsx", ...preload].flatMap((module) => ["--import", module]);
  const child = spawn(process.execPath, [...imports, "worker-node/cli/edgeq.ts", command], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...Object.fromEntries(inherited), ...env },
  });
  live.add(child);
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  void exited.then(() => live.delete(child));
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // the gateway's pino line and the edge's both say "… listening" with the url
      const line = output
        .split("\n")
        .slice(0, -1)
        .find((l) => l.startsWith("{") && l.includes('listening"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(({ code }) => reject(new Error(`edgeq ${command} exited with ${code}:\n${output}`)));
  });
  return {
    url,
    get output() {
      return output;
    },
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
