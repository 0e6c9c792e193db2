// The dashboard's generated module (tools/dashboard.ts): what is checked in is
// what the script's and the stylesheet's files make now, and each string is
// its files unchanged, in the order the page needs them.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SCRIPT, STYLE } from "../edge/dashboard/assets.generated.ts";
import { ASSETS, OUTPUT, renderAssets } from "../tools/dashboard.ts";

const file = (name: string) => readFileSync(new URL(`../edge/dashboard/${name}`, import.meta.url), "utf8");
const style = ASSETS.find((a) => a.name === "STYLE")!.files;

describe("edge/dashboard/assets.generated.ts", () => {
  it("is what npm run generate writes from the script's and the stylesheet's files as they are", () => {
    expect(readFileSync(OUTPUT, "utf8")).toBe(renderAssets());
  });

  it("holds patch.js, then app.js, byte for byte, backslashes, backticks and ${ included", () => {
    // app.js calls what patch.js declares, in the one scope of the served script
    expect(SCRIPT).toBe(file("patch.js") + file("app.js"));
    expect(SCRIPT).toContain("\\/");
    expect(SCRIPT).toContain("`");
    expect(SCRIPT).toContain("${");
  });

  it("holds every part of the stylesheet once, byte for byte, the narrow screens last", () => {
    const parts = readdirSync(new URL("../edge/dashboard/styles/", import.meta.url)).map((name) => `styles/${name}`);
    expect([...style].sort()).toEqual(parts.sort());
    expect(STYLE).toBe(style.map(file).join(""));
    expect(style[0]).toBe("styles/base.css");
    expect(style.at(-1)).toBe("styles/narrow.css");
  });
});
