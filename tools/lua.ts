// The Lua state machine's build step. Scripts live in shared/scripts/*.lua and
// pull helpers from shared/scripts/includes/*.lua with `--- @include "name"`;
// three includes are generated from TypeScript so that neither side can drift:
// "keys" (every key helper, from shared/keys.ts), "statuses" (the status lists
// and the map of allowed moves, from shared/status.ts) and "limits" (the bounds
// of shared/defaults.ts).
//
//   npm run generate   writes shared/scripts/generated.ts
//   npm run lint       among others, fails when generated.ts is out of date and
//                      runs luacheck on every assembled script (tools/lint.ts)
//
// generated.ts holds each script assembled (so workerd needs no file loader),
// its SHA-1, and a line map that turns a line Redis reports back into the
// line of the .lua file it came from.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULTS } from "../shared/defaults.ts";
import { Keys, LUA_PARAMS } from "../shared/keys.ts";
import { KEY_LOCKING_SHEBANG, locate, type ScriptSource } from "../shared/script.ts";
import {
  CREATED_AS,
  REGISTRY_STATUSES,
  TERMINAL_STATUSES,
  TRANSITIONS,
  UNSUCCESSFUL_STATUSES,
} from "../shared/status.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCRIPTS = join(ROOT, "shared/scripts");
const INCLUDES = join(SCRIPTS, "includes");
const OUTPUT = join(SCRIPTS, "generated.ts");
const INCLUDE = /^--- @include "([a-z_]+)"\s*$/;
/** A script that passes every key it touches in KEYS says so, for Upstash's key-level locks (shared/script.ts). */
const KEY_LOCKING = /^--- @key-locking\s*$/;

interface Unit {
  /** Where a reader finds the lines: a path in the repository. */
  file: string;
  lines: string[];
}

/**
 * Lua functions `K.queue(name)` …, spelled by calling the Keys methods with marked parameters; only those in
 * `used`, when given.
 */
function keysInclude(used?: Set<string>): string {
  const mark = "\u0000";
  const sample = new Keys(`${mark}ROOT${mark}`) as unknown as Record<string, (...args: string[]) => string>;
  const lines = [
    "-- Generated from shared/keys.ts: every key a script builds.",
    "local ROOT = ARGV[1]",
    "local K = {}",
  ];
  for (const [method, params] of Object.entries(LUA_PARAMS)) {
    if (used && !used.has(method)) continue;
    const spelled = sample[method]!(...params.map((p) => `${mark}${p}${mark}`));
    const body = spelled
      .split(mark)
      .map((part, i) => (i % 2 === 1 ? part : part && JSON.stringify(part)))
      .filter(Boolean)
      .join(" .. ");
    lines.push(`function K.${method}(${params.join(", ")}) return ${body} end`);
  }
  return lines.join("\n");
}

/** The status lists and the map of moves, as the table STATUS; only the fields in `used`, when given. */
function statusesInclude(used?: Set<string>): string {
  const list = (items: readonly string[]) => `{ ${items.map((s) => `'${s}'`).join(", ")} }`;
  const set = (items: readonly string[]) => `{ ${items.map((s) => `${s} = true`).join(", ")} }`;
  // a status with many moves takes a line for each, within luacheck's line length
  const moves = Object.entries(TRANSITIONS).map(([from, to]) => {
    const line = `    ${from} = ${set(Object.keys(to))},`;
    if (line.length <= 100) return line;
    return [`    ${from} = {`, ...Object.keys(to).map((s) => `      ${s} = true,`), "    },"].join("\n");
  });
  const fields: [string, string[]][] = [
    ["registries", [`  registries = ${list(REGISTRY_STATUSES)},`]],
    ["terminal_list", [`  terminal_list = ${list(TERMINAL_STATUSES)},`]],
    ["terminal", [`  terminal = ${set(TERMINAL_STATUSES)},`]],
    ["unsuccessful", [`  unsuccessful = ${set(UNSUCCESSFUL_STATUSES)},`]],
    ["created", [`  created = ${set(Object.keys(CREATED_AS))},`]],
    ["moves", ["  moves = {", ...moves, "  },"]],
  ];
  return [
    "-- Generated from shared/status.ts: the statuses and the moves between them.",
    "local STATUS = {",
    ...fields.filter(([name]) => !used || used.has(name)).flatMap(([, lines]) => lines),
    "}",
  ].join("\n");
}

/** Bounds and limits the scripts share with TypeScript, from shared/defaults.ts. */
function limitsInclude(): string {
  const limits = {
    batch: DEFAULTS.scriptBatch,
    max_backoff_ms: DEFAULTS.maxBackoffMs,
    attempts_kept: DEFAULTS.attemptsKept,
    minute_ttl_sec: DEFAULTS.minuteStatsTtlSec,
    top_groups: DEFAULTS.metricsTopGroups,
    max_steps: DEFAULTS.maxSteps,
    max_log_lines: DEFAULTS.maxLogLines,
    max_log_bytes: DEFAULTS.maxLogBytes,
    debounce_grace_ms: DEFAULTS.debounceGraceMs,
    queue_events_max_len: DEFAULTS.queueEventsMaxLen,
    queue_event_value_bytes: DEFAULTS.queueEventValueBytes,
  };
  return [
    "-- Generated from shared/defaults.ts: the bounds every script keeps.",
    "local LIMITS = {",
    ...Object.entries(limits).map(([name, value]) => `  ${name} = ${value},`),
    "}",
  ].join("\n");
}

function readUnit(path: string): Unit {
  return { file: relative(ROOT, path), lines: readFileSync(path, "utf8").replace(/\n$/, "").split("\n") };
}

/** The generated includes, trimmed to the key helpers and status fields that a script's other lines name. */
function generatedIncludes(used?: { keys: Set<string>; statuses: Set<string> }): [string, Unit][] {
  return [
    ["keys", { file: 'shared/keys.ts (generated include "keys")', lines: keysInclude(used?.keys).split("\n") }],
    [
      "statuses",
      { file: 'shared/status.ts (generated include "statuses")', lines: statusesInclude(used?.statuses).split("\n") },
    ],
  ];
}

function includes(): Map<string, Unit> {
  const found = new Map<string, Unit>([
    ...generatedIncludes(),
    ["limits", { file: 'shared/defaults.ts (generated include "limits")', lines: limitsInclude().split("\n") }],
  ]);
  for (const name of readdirSync(INCLUDES)
    .filter((f) => f.endsWith(".lua"))
    .sort()) {
    found.set(basename(name, ".lua"), readUnit(join(INCLUDES, name)));
  }
  return found;
}

/**
 * A script with its includes expanded in place, each once, and where each line came from. Redis runs the whole
 * source on every call, so the key helpers and status fields the script never names are left out: each costs a
 * closure or a table a call (about a third of a worker step's Redis time went to running its definitions).
 */
function assemble(script: Unit, library: Map<string, Unit>): Pick<ScriptSource, "source" | "lines"> {
  const generated = new Set(generatedIncludes().flatMap(([, unit]) => unit.lines));
  const named = expandUnits(script, library).out.filter((line) => !generated.has(line));
  const used = (pattern: RegExp) => new Set(named.flatMap((line) => [...line.matchAll(pattern)].map((m) => m[1]!)));
  const names = { keys: used(/\bK\.(\w+)\(/g), statuses: used(/\bSTATUS\.(\w+)/g) };
  const { out, marks } = expandUnits(script, new Map([...library, ...generatedIncludes(names)]));
  return { source: `${out.join("\n")}\n`, lines: marks };
}

function expandUnits(script: Unit, library: Map<string, Unit>) {
  const out: string[] = [];
  const marks: ScriptSource["lines"] = [];
  const seen = new Set<string>();
  const expand = (unit: Unit, chain: string[]) => {
    let runStart = -1;
    unit.lines.forEach((line, index) => {
      const name = INCLUDE.exec(line)?.[1];
      if (name === undefined) {
        if (runStart < 0) {
          runStart = index;
          marks.push([out.length + 1, unit.file, index + 1]);
        }
        out.push(line);
        return;
      }
      runStart = -1;
      if (seen.has(name)) return;
      const included = library.get(name);
      if (!included) throw new Error(`${unit.file}:${index + 1}: no include named "${name}"`);
      if (chain.includes(name)) throw new Error(`${unit.file}: includes form a cycle: ${[...chain, name].join(" → ")}`);
      seen.add(name);
      expand(included, [...chain, name]);
    });
  };
  expand(script, []);
  return { out, marks };
}

function scriptNames(): string[] {
  return readdirSync(SCRIPTS)
    .filter((f) => f.endsWith(".lua"))
    .sort()
    .map((f) => basename(f, ".lua"));
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

function compile(unit: Unit, library: Map<string, Unit>): ScriptSource {
  const { source, lines } = assemble(unit, library);
  const compiled: ScriptSource = { name: basename(unit.file, ".lua"), sha: sha1(source), source, lines };
  if (unit.lines.some((line) => KEY_LOCKING.test(line))) compiled.keyLockingSha = sha1(KEY_LOCKING_SHEBANG + source);
  return compiled;
}

function build(): ScriptSource[] {
  const library = includes();
  return scriptNames().map((name) => compile(readUnit(join(SCRIPTS, `${name}.lua`)), library));
}

/** A script written elsewhere (a test's), assembled with the same includes. */
export function compileLua(file: string, text: string): ScriptSource {
  return compile({ file, lines: text.replace(/\n$/, "").split("\n") }, includes());
}

const identifier = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The source as a template literal: one line of generated.ts per line of Lua. */
function literal(source: string): string {
  return `\`${source.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${")}\``;
}

function render(scripts: ScriptSource[]): string {
  const entries = scripts.map(
    (s) =>
      `export const ${identifier(s.name)}: ScriptSource = {\n` +
      `  name: ${JSON.stringify(s.name)},\n` +
      `  sha: ${JSON.stringify(s.sha)},\n` +
      (s.keyLockingSha ? `  keyLockingSha: ${JSON.stringify(s.keyLockingSha)},\n` : "") +
      `  lines: [\n${s.lines.map((mark) => `    ${JSON.stringify(mark)},\n`).join("")}  ],\n` +
      `  source: ${literal(s.source)},\n` +
      `};\n`,
  );
  return [
    "// Generated by `npm run generate` (tools/lua.ts) from shared/scripts/*.lua. Do not edit.",
    'import type { ScriptSource } from "../script.ts";',
    "",
    ...entries,
  ].join("\n");
}

function lint(scripts: ScriptSource[]): number {
  // an include is checked in every script that pulls it in: say each finding once
  const said = new Set<string>();
  let problems = 0;
  for (const script of scripts) {
    const result = spawnSync(
      "luacheck",
      // "-" (stdin) first: --globals takes every name after it
      [
        "-",
        "--formatter",
        "plain",
        "--codes",
        "--no-color",
        "--std",
        "lua51",
        "--globals",
        "redis",
        "cjson",
        "KEYS",
        "ARGV",
      ],
      { input: script.source, encoding: "utf8" },
    );
    if (result.error) {
      console.error("luacheck is not installed (Debian: apt-get install lua-check)");
      return 1;
    }
    if (result.status !== 0 && !result.stdout.trim()) {
      console.error(`luacheck failed on ${script.name}.lua: ${result.stderr.trim()}`);
      problems++;
    }
    for (const line of result.stdout.split("\n").filter(Boolean)) {
      const match = /^stdin:(\d+):(\d+): (.*)$/.exec(line);
      if (!match) {
        console.error(line);
        problems++;
        continue;
      }
      const [file, fileLine] = locate(script.lines, Number(match[1]));
      // luacheck names other lines of the assembled script too ("overwritten on line 389")
      const message = match[3]!.replace(/\bline (\d+)/g, (_, n: string) => locate(script.lines, Number(n)).join(":"));
      const finding = `${file}:${fileLine}:${match[2]}: ${message}`;
      if (said.has(finding)) continue;
      said.add(finding);
      console.error(`${finding} (in ${script.name}.lua)`);
      problems++;
    }
  }
  return problems;
}

/** Writes generated.ts from the .lua files. */
export function generate(): string {
  const scripts = build();
  writeFileSync(OUTPUT, render(scripts));
  return `wrote ${relative(ROOT, OUTPUT)} (${scripts.length} scripts)`;
}

/** Whether generated.ts is what generate() would write. */
export function isGeneratedCurrent(): boolean {
  return readFileSync(OUTPUT, "utf8") === render(build());
}

/** luacheck over every assembled script; the number of findings, printed to stderr. */
export function lintLua(): number {
  return lint(build());
}

function main(command: string | undefined): void {
  if (command === "generate") {
    console.log(generate());
  } else {
    console.error("usage: tsx tools/lua.ts generate   (npm run lint checks the scripts)");
    process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv[2]);
