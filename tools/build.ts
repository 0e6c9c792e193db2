// `npm run build` (and `npm pack`, through prepack): the package's JavaScript
// and declaration files in dist/, from the entry points package.json names.
// tsc, not a bundler: one .js file per .ts file keeps the layout that code
// finding its siblings relies on (the horse's child.js, the demo tasks), its
// rewriteRelativeImportExtensions turns the source's `./x.ts` imports into
// `./x.js`, and the declarations come from the same type check as the code.
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT_DIR = join(ROOT, "dist");
// Modules reached by path, never imported, so that neither an export nor an
// import leads tsc to them: the edge's Node entry (compose and systemd run it),
// the horse's side that bundle.ts compiles into every horse, the demo tasks.
const BY_PATH = ["edge/node-entry.ts", "worker-node/horse/child.ts", "worker-node/demo-tasks.ts"];

/** The source of every file package.json's exports and bin point into dist/. */
function entryPoints(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const targets = JSON.stringify([pkg.exports, pkg.bin]);
  const sources = [...targets.matchAll(/"\.\/dist\/([^"]+)\.js"/g)].map((m) => `${m[1]}.ts`);
  return [...new Set([...sources, ...BY_PATH])].map((file) => join(ROOT, file));
}

const configFile = ts.readConfigFile(join(ROOT, "tsconfig.json"), ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT, {
  noEmit: false,
  outDir: OUT_DIR,
  rootDir: ROOT,
  declaration: true,
  rewriteRelativeImportExtensions: true,
});
const program = ts.createProgram(entryPoints(), options);
const report = (problems: readonly ts.Diagnostic[]) => {
  if (problems.length === 0) return;
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" };
  console.error(ts.formatDiagnosticsWithColorAndContext(problems, host));
  process.exit(1);
};
// a package is built from code that type-checks, or not at all
report(ts.getPreEmitDiagnostics(program));
await rm(OUT_DIR, { recursive: true, force: true });
report(program.emit().diagnostics);
