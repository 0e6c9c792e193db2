// A job's callbackUrl gets the job view once the job is terminal (finished,
// failed, stopped), as QStash-style APIs do, so a producer need not poll.
// Best effort: a few tries with backoff, from the worker's network, after the
// outcome is safely in Redis; the job's status never depends on it.
import type { Logger } from "pino";
import type { JobView } from "../shared/index.ts";

const TRIES = 3;
const TIMEOUT_MS = 10_000;

export async function deliverCallback(url: string, job: JobView, logger: Logger): Promise<boolean> {
  for (let attempt = 1; attempt <= TRIES; attempt++) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "edgeq-worker" },
        body: JSON.stringify(job),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (response.ok) return true;
      logger.warn({ jobId: job.id, status: response.status, attempt }, "callback refused");
    } catch (error) {
      logger.warn({ jobId: job.id, err: (error as Error).message, attempt }, "callback failed");
    }
    if (attempt < TRIES) await new Promise((resolve) => setTimeout(resolve, 500 * 4 ** (attempt - 1)));
  }
  return false;
}
