// Bundling the horse: the task module is compiled once, with the horse's own
// code (child.ts), into one plain-JavaScript file, so that a horse boots
// without a TypeScript loader.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, rename, stat, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { build, stop as stopEsbuild } from "esbuild";
import { cacheDirs } from "../config.ts";
import { siblingModule } from "../sibling.ts";

// One build per task module a process uses: the Workers of one process (one per prefix) share it, and a
// build that stopped esbuild's service cannot pull it from under another that is still running.
const builds = new Map<string, Promise<string>>();

/** Bundles the horse with the task module; returns the path of the .mjs file. */
export function compileHorse(tasksPath: string): Promise<string> {
  const path = resolve(tasksPath);
  let built = builds.get(path);
  if (!built) {
    built = bundle(path);
    builds.set(path, built);
    built.catch(() => builds.delete(path));
  }
  return built;
}

async function bundle(tasksPath: string): Promise<string> {
  const cacheDir = await ownCacheDir();
  const entry = [
    `import * as tasks from ${JSON.stringify(resolve(tasksPath))};`,
    `import { serveJobs } from ${JSON.stringify(siblingModule(import.meta.url, "child"))};`,
    `serveJobs(tasks);`,
  ].join("\n");
  const output = await build({
    stdin: { contents: entry, resolveDir: process.cwd(), loader: "ts", sourcefile: "horse-entry.ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Every fork parses the whole file: without comments and blanks a horse that
    // imports zod boots ~10% sooner. Names stay, so a stack's frames still say them.
    minifyWhitespace: true,
    minifySyntax: true,
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
    outfile: resolve(cacheDir, "horse.mjs"),
    // The bundle lives in the cache directory, outside any node_modules: the
    // packages a horse loads at run time (pino) resolve from this module, as
    // the worker's own do.
    define: { EDGEQ_REQUIRE_BASE: JSON.stringify(import.meta.url) },
    write: false,
    logLevel: "silent",
  });
  // the one build a worker makes: its service process need not outlive it
  await stopEsbuild();
  const code = output.outputFiles.find((f) => f.path.endsWith(".mjs"))!.contents;
  const map = output.outputFiles.find((f) => f.path.endsWith(".map"))!.contents;
  const file = resolve(
    cacheDir,
    `horse-${createHash("sha256").update(code).update(map).digest("hex").slice(0, 16)}.mjs`,
  );
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

/**
 * The first cache directory this user may write: made if need be, and owned
 * by this user, since a directory in a shared temp dir that another user made
 * could hold a planted horse.
 */
async function ownCacheDir(): Promise<string> {
  const refused: string[] = [];
  for (const dir of cacheDirs()) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const info = await stat(dir);
      if (process.getuid && info.uid !== process.getuid()) throw new Error("owned by another user");
      await access(dir, constants.W_OK);
      return dir;
    } catch (error) {
      refused.push(`${dir}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no cache directory to write the compiled horse to; set EDGEQ_CACHE_DIR (${refused.join("; ")})`);
}
