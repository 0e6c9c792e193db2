// The dashboard's generated module (tools/dashboard.ts): what is checked in is
// what app.js and app.css make now, and each string is its file unchanged.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SCRIPT, STYLE } from "../edge/dashboard/assets.generated.ts";
import { OUTPUT, renderAssets } from "../tools/dashboard.ts";

const file = (name: string) => readFileSync(new URL(`../edge/dashboard/${name}`, import.meta.url), "utf8");

describe("edge/dashboard/assets.generated.ts", () => {
  it("is what npm run generate writes from app.js and app.css as they are", () => {
    expect(readFileSync(OUTPUT, "utf8")).toBe(renderAssets());
  });

  it("holds app.js and app.css byte for byte, backslashes, backticks and ${ included", () => {
    expect(SCRIPT).toBe(file("app.js"));
    expect(STYLE).toBe(file("app.css"));
    expect(SCRIPT).toContain("\\/");
    expect(SCRIPT).toContain("`");
    expect(SCRIPT).toContain("${");
  });
});
