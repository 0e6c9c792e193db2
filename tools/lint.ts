// `npm run lint`: every check the team runs the same way, and CI with it.
//   - Biome: lint rules and formatting (biome.json)
//   - shared/scripts/generated.ts is up to date with the .lua files, and
//     edge/dashboard/assets.generated.ts with app.js and app.css
//   - luacheck on every assembled script, with zero warnings
//   - no line of code over 120 characters (the formatter cannot break strings)
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDashboardCurrent } from "./dashboard.ts";
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

const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
  cwd: ROOT,
  encoding: "utf8",
})
  .split("\n")
  .filter((file) => CODE.test(file));
for (const file of files) {
  let text: string;
  try {
    text = readFileSync(join(ROOT, file), "utf8");
  } catch {
    continue; // deleted in the working tree
  }
  text.split("\n").forEach((line, i) => {
    if ([...line].length > MAX_LINE)
      fail(`${file}:${i + 1}: line is ${[...line].length} characters (at most ${MAX_LINE})`);
  });
}

if (failed) process.exit(1);
console.log(`lint: clean (biome, generated files, luacheck, ${files.length} files within ${MAX_LINE} characters)`);
