// The admin CLI in tests (test/admin-*.test.ts), run as an operator runs it:
// `node --import tsx worker-node/cli/edgeq.ts admin …` as its own process, or
// its main() in this process as code that imports it would; and the tables
// it prints, read back by row.
import { execFile } from "node:child_process";
import { inject } from "vitest";
import { main } from "../../worker-node/cli/admin/main.ts";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The ways to run the CLI against the run's Redis, under `prefix` unless a run's `env` says otherwise. */
export function adminRunners(prefix: string) {
  /** Runs the edgeq bin to its exit; `env` overrides the run's REDIS_URL and EDGEQ_PREFIX. */
  function edgeq(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "worker-node/cli/edgeq.ts", ...args],
        { env: { ...process.env, REDIS_URL: inject("redisUrl"), EDGEQ_PREFIX: prefix, ...env } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
  }

  function admin(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return edgeq(["admin", ...args], env);
  }

  /** main() in this process, writing what the CLI would print a line at a time. */
  async function inProcess(args: string[]): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const code = await main(args, {
      out: (text) => {
        stdout += `${text}\n`;
      },
      err: (text) => {
        stderr += `${text}\n`;
      },
      env: { REDIS_URL: inject("redisUrl"), EDGEQ_PREFIX: prefix },
    });
    return { code, stdout, stderr };
  }

  return { edgeq, admin, inProcess };
}

/** The row of a table the CLI printed, by its first cell, as { column: cell }. */
export function row(text: string, first: string): Record<string, string> {
  // cells are two spaces apart at least; counts are aligned right, so a line may start with spaces
  const lines = text.split("\n").map((line) => line.trim().split(/\s{2,}/));
  const header = lines[0]!;
  const cells = lines.find((cells) => cells[0] === first);
  if (!cells) throw new Error(`no row "${first}" in:\n${text}`);
  return Object.fromEntries(header.map((name, i) => [name, cells[i] ?? ""]));
}
