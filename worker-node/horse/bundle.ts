// Bundling the horse: the task module is compiled once, with the horse's own
// code (child.ts), into one plain-JavaScript file, so that a horse boots
// without a TypeScript loader.
import { createHash } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, stop as stopEsbuild } from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
// Inside the project's node_modules, so the horse resolves the packages it
// requires at run time (pino) exactly as the worker does.
const CACHE_DIR = resolve(HERE, "../../node_modules/.cache/edgeq");

/** Bundles the horse with the task module; returns the path of the .mjs file. */
export async function compileHorse(tasksPath: string): Promise<string> {
  const entry = [
    `import * as tasks from ${JSON.stringify(resolve(tasksPath))};`,
    `import { serveJobs } from ${JSON.stringify(resolve(HERE, "child.ts"))};`,
    `serveJobs(tasks);`,
  ].join("\n");
  const output = await build({
    stdin: { contents: entry, resolveDir: process.cwd(), loader: "ts", sourcefile: "horse-entry.ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // bundled CommonJS dependencies call require(); give them a real one
    banner: {
      js: [
        `import { createRequire as __edgeqRequire } from "node:module";`,
        `const require = __edgeqRequire(import.meta.url);`,
      ].join(" "),
    },
    // The map lets a failed job's stack name the task's own file and line
    // (child.ts reads it only then: --enable-source-maps would parse it at
    // every boot). Its paths are relative to where the bundle is written.
    sourcemap: "external",
    outfile: resolve(CACHE_DIR, "horse.mjs"),
    write: false,
    logLevel: "silent",
  });
  // the one build a worker makes: its service process need not outlive it
  await stopEsbuild();
  const code = output.outputFiles.find((f) => f.path.endsWith(".mjs"))!.contents;
  const map = output.outputFiles.find((f) => f.path.endsWith(".map"))!.contents;
  const file = resolve(
    CACHE_DIR,
    `horse-${createHash("sha256").update(code).update(map).digest("hex").slice(0, 16)}.mjs`,
  );
  await mkdir(CACHE_DIR, { recursive: true });
  // write then rename, so a worker starting beside us never forks a half-written file
  for (const [path, contents] of [
    [`${file}.map`, map],
    [file, code],
  ] as const) {
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, contents);
    await rename(partial, path);
  }
  return file;
}
