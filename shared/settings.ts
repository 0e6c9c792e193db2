// Reading settings from environment variables (process.env on Node, bindings
// on Workers), the same way in every process: empty means unset, and a bad
// value stops the process at start with a message naming every bad variable
// and the form it expects, never the value itself (it may be a secret).
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { issuesOf } from "./errors.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Variables with empty values dropped, so each falls back to its default. */
export function present(env: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
}

/** Parses all variables at once, so one start shows every mistake. */
export function readSettings<T extends z.ZodType>(schema: T, env: Record<string, unknown>): z.output<T> {
  const parsed = schema.safeParse(present(env));
  if (!parsed.success) {
    throw new ConfigError(
      `invalid settings: ${issuesOf(parsed.error)
        .map((i) => `${i.field}: ${i.message}`)
        .join("; ")}`,
    );
  }
  return parsed.data;
}

/** A JSON variable, or a ConfigError naming it (the parser's message would quote a secret). */
export function jsonVariable(text: string | undefined, name: string, fallback: unknown): unknown {
  if (text === undefined || text.trim() === "") return fallback;
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${name} is not valid JSON`);
  }
}

/** A TCP port in an environment variable, 0 (any free port) to 65535. */
export const portSetting = (fallback: number) =>
  z.coerce
    .number({ error: "must be a port number" })
    .int("must be a port number")
    .min(0, "must be a port number")
    .max(65_535, "must be a port number")
    .default(fallback);

const listenSettings = z.object({
  EDGE_PORT: portSetting(DEFAULTS.edgePort),
  EDGE_HOST: z.string().default(DEFAULTS.edgeHost),
});

/**
 * Where the edge's Node entry listens: EDGE_PORT and EDGE_HOST, checked. Here
 * rather than in edge/config.ts because `npm run dev` (tools/dev.ts)
 * reads EDGE_PORT too, to run the edge there.
 */
export function readListenEnv(env: Record<string, string | undefined>): z.output<typeof listenSettings> {
  return readSettings(listenSettings, { EDGE_PORT: env.EDGE_PORT, EDGE_HOST: env.EDGE_HOST });
}
