// The warning a worker gives at start when Redis may evict keys: under any
// maxmemory-policy but noeviction, a full Redis deletes jobs silently,
// where noeviction refuses writes instead (an enqueue then gets a 503).
import type { Logger } from "pino";
import type { Connection } from "./connection.ts";

/** Logs one warning when maxmemory-policy is not noeviction; a managed Redis that refuses CONFIG says nothing. */
export async function warnIfEvicting(redis: Connection, log: Logger): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.call("CONFIG", "GET", "maxmemory-policy")) as string[];
    policy = reply[1];
  } catch {
    return;
  }
  if (policy && policy !== "noeviction") {
    log.warn(
      { maxmemoryPolicy: policy },
      `Redis's maxmemory-policy is ${policy}: a full Redis evicts keys, jobs among them; set it to noeviction`,
    );
  }
}
