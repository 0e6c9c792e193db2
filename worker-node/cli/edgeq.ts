#!/usr/bin/env node
// The package's `edgeq` command: `edgeq worker|admin|gateway|edge …`. Each
// subcommand's module is imported only when named, so that `edgeq admin` does
// not load esbuild nor `edgeq gateway` the worker. The worker, the gateway and
// the edge run from their modules' top level, as `tsx worker-node/main.ts` does in the
// repository; the admin CLI's main() answers with an exit code, and this
// process is the one that exits with it.
import process from "node:process";

const COMMANDS: Record<string, [summary: string, run: () => Promise<unknown>]> = {
  worker: ["run jobs: edgeq worker --tasks ./tasks.ts [--queues high,default] …", () => import("../main.ts")],
  admin: [
    "look at queues and jobs, cancel and requeue them",
    async () => {
      const { main } = await import("./admin/main.ts");
      process.exitCode = await main(process.argv.slice(2));
    },
  ],
  gateway: ["serve Upstash's REST protocol in front of a Redis, for the edge", () => import("../gateway/main.ts")],
  edge: ["serve the edge API on Node, in front of the gateway", () => import("./edge.ts")],
};

const USAGE = `usage: edgeq <command> [options]
${Object.entries(COMMANDS)
  .map(([name, [summary]]) => `  ${name.padEnd(9)}${summary}`)
  .join("\n")}
"edgeq <command> --help" says more about each.`;

const name = process.argv[2];
// own keys only: "edgeq toString" names no command
const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
if (command) {
  // each subcommand reads its own options from process.argv.slice(2)
  process.argv.splice(2, 1);
  await command[1]();
} else if (name === "--help" || name === "-h" || name === "help") {
  console.log(USAGE);
} else {
  console.error(name === undefined ? USAGE : `edgeq: no command "${name}"\n${USAGE}`);
  process.exitCode = 2;
}
