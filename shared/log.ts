// A job's log read back, a page of its lines (ctx.log) at a time: for
// Queue.logs, and the edge's GET /v1/jobs/:id/logs by id alone.
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { parseOrThrow } from "./errors.ts";
import type { Keys } from "./keys.ts";
import { jobIdSchema } from "./names.ts";
import type { ScriptRunner } from "./script.ts";
import * as scripts from "./scripts/index.ts";

/** Which lines: from the line numbered `offset` (0, the first the job wrote), `limit` of them. */
export interface LogPage {
  offset?: number;
  /** The last `limit` lines instead, whatever their numbers (offset left out). */
  tail?: boolean;
  /** At most DEFAULTS.maxLogPage; default 100. */
  limit?: number;
}

export const logPageSchema = z.object({
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  tail: z.boolean().optional(),
  limit: z.number().int().min(1).max(DEFAULTS.maxLogPage).optional(),
});

/** A page of the job's log, oldest line first; null when there is no job. */
export async function readLog(
  redis: ScriptRunner,
  keys: Keys,
  id: string,
  page: LogPage,
): Promise<scripts.JobLog | null> {
  parseOrThrow(jobIdSchema, id, "id");
  const { offset = 0, limit = 100, tail } = parseOrThrow(logPageSchema, page);
  return scripts.getLogs.run(redis, keys, { id, offset: tail ? null : offset, limit });
}
