// `wrangler deploy --dry-run` builds the Worker exactly as a deploy would,
// offline. The edge must run on plain workerd (no nodejs_compat), so the
// bundle may not import any node: module.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

describe("wrangler deploy --dry-run", () => {
  it.each([
    ["the top-level environment", ""],
    ["production", "production"],
  ])(
    "bundles %s without node: imports",
    async (_name, env) => {
      const outdir = await mkdtemp(join(tmpdir(), "edgeq-deploy-"));
      try {
        await promisify(execFile)(
          process.execPath,
          [WRANGLER, "deploy", "--dry-run", "--outdir", outdir, `--env=${env}`],
          {
            cwd: ROOT,
            env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
            timeout: 120_000,
          },
        );
        const bundle = await readFile(join(outdir, "workers-entry.js"), "utf8");
        expect(bundle).toContain("/v1/queues/");
        expect(bundle.match(/["'`]node:[\w/]+["'`]/g) ?? []).toEqual([]);
      } finally {
        await rm(outdir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
