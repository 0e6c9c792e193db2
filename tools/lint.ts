// `npm run lint`: every check the team runs the same way, and CI with it.
//   - Biome: lint rules and formatting (biome.json)
//   - shared/scripts/generated.ts is up to date with the .lua files, and
//     edge/dashboard/assets.generated.ts with app.js and app.css
//   - luacheck on every assembled script, with zero warnings
//   - no line of code over 120 characters (the formatter cannot break strings)
//   - imports between shared/, edge/ and worker-node/ point the allowed way (tools/imports.ts)
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDashboardCurrent } from "./dashboard.ts";
import { importDirectionProblems } from "./imports.ts";
import { isGeneratedCurrent, lintLua } from "./lua.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAX_LINE = 120;
const CODE = /\.(ts|tsx|js|mjs|lua|html|css)$/;

let failed = false;
const fail = (message: string) => {
  console.error(message);
  failed = true;
};

const biome = spawnSync(process.execPath, [join(ROOT, "node_modules/@biomejs/biome/bin/biome"), "check", "."], {
  cwd: ROOT,
  stdio: "inherit",
});
if (biome.status !== 0) fail("biome check found problems (npx biome check --write . fixes most)");

if (!isGeneratedCurrent()) fail("shared/scripts/generated.ts is out of date with the .lua files: run npm run generate");
if (!isDashboardCurrent()) {
  fail("edge/dashboard/assets.generated.ts is out of date with app.js and app.css: run npm run generate");
}
if (lintLua() > 0) fail("luacheck found problems in the Lua scripts");

const listed = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
  cwd: ROOT,
  encoding: "utf8",
}).split("\n");
/** A listed file's text; undefined when it is deleted in the working tree. */
const read = (file: string): string | undefined => {
  try {
    return readFileSync(join(ROOT, file), "utf8");
  } catch {
    return undefined;
  }
};

for (const problem of importDirectionProblems(listed, (file) => read(file) ?? "")) fail(problem);

const files = listed.filter((file) => CODE.test(file));
for (const file of files) {
  const text = read(file);
  if (text === undefined) continue;
  text.split("\n").forEach((line, i) => {
    if ([...line].length > MAX_LINE)
      fail(`${file}:${i + 1}: line is ${[...line].length} characters (at most ${MAX_LINE})`);
  });
}

if (failed) process.exit(1);
const checks = "biome, generated files, luacheck, import directions";
console.log(`lint: clean (${checks}, ${files.length} files within ${MAX_LINE} characters)`);
