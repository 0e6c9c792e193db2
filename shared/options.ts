// The job options a producer gives with an enqueue, their checks field by
// field and across fields, and the enqueue request that carries them.
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { groupNameSchema, jobIdSchema, jsonValueSchema, taskNameSchema } from "./names.ts";

const DAY_MS = 24 * 3600 * 1000;
const YEAR_SEC = 365 * 24 * 3600;

/** A debounce or dedupe key: the id alphabet too. */
const flowKeySchema = jobIdSchema;

export const debounceSchema = z.strictObject({
  key: flowKeySchema,
  delayMs: z.number().int().min(0).max(DAY_MS).describe("the job starts this long after the latest call"),
  maxDelayMs: z
    .number()
    .int()
    .min(0)
    .max(DEFAULTS.maxDelaySec * 1000)
    .optional()
    .describe("at the latest this long after the first call, however many follow"),
});

export const dedupeSchema = z.strictObject({
  key: flowKeySchema,
  ttlMs: z
    .number()
    .int()
    .min(1)
    .max(DEFAULTS.maxDelaySec * 1000)
    .describe("how long the key answers the first job"),
});

export const retrySchema = z.strictObject({
  max: z.number().int().min(0).max(DEFAULTS.maxRetries).describe("retries after the first attempt"),
  backoff: z
    .strictObject({
      type: z.enum(["fixed", "exponential"]),
      delayMs: z.number().int().min(0).max(DAY_MS),
    })
    .optional(),
});

/** The job options, field by field (jobOptionsSchema adds the checks across fields). */
export const jobOptionsFields = z.strictObject({
  id: jobIdSchema.optional().describe("client-chosen id; enqueuing the same id again returns the existing job"),
  timeoutMs: z.number().int().min(1).max(DEFAULTS.maxTimeoutMs).optional(),
  resultTtlSec: z.number().int().min(1).max(YEAR_SEC).optional(),
  failureTtlSec: z
    .number()
    .int()
    .min(1)
    .max(10 * YEAR_SEC)
    .optional(),
  ttlSec: z.number().int().min(1).max(YEAR_SEC).optional().describe("max time waiting in the queue"),
  retry: retrySchema.optional(),
  runAt: z
    .union([z.number().int().min(0), z.iso.datetime({ offset: true })])
    .optional()
    .describe("epoch ms or an ISO 8601 date-time, at most a year ahead"),
  delayMs: z
    .number()
    .int()
    .min(0)
    .max(DEFAULTS.maxDelaySec * 1000)
    .optional(),
  dependsOn: z.array(jobIdSchema).max(100).optional(),
  atFront: z.boolean().optional(),
  priority: z
    .number()
    .int()
    .min(1)
    .max(DEFAULTS.maxPriority)
    .optional()
    .describe("1 is the highest; jobs without one come first, as in BullMQ; FIFO within a priority"),
  callbackUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  meta: z.record(z.string().max(128), jsonValueSchema).optional(),
  group: groupNameSchema.optional().describe("the group within its queue that claims take turns over"),
  debounce: debounceSchema
    .optional()
    .describe("while a job with this key waits, a new call replaces its args and moves its start"),
  dedupe: dedupeSchema.optional().describe("for ttlMs after a job with this key was made, a call answers it"),
});

export const jobOptionsSchema = jobOptionsFields
  .refine((o) => o.runAt === undefined || o.delayMs === undefined, {
    message: "give runAt or delayMs, not both",
    path: ["delayMs"],
  })
  .refine(
    (o) => !o.debounce || (o.runAt === undefined && o.delayMs === undefined && !o.dependsOn && o.id === undefined),
    {
      message:
        "sets the start (delayMs after the latest call) and id (the first call's): no runAt, delayMs, dependsOn, id",
      path: ["debounce"],
    },
  )
  .refine((o) => !o.debounce || !o.dedupe, { message: "give debounce or dedupe, not both", path: ["dedupe"] })
  // a job parked for decades is storage nobody will reclaim
  .refine((o) => o.runAt === undefined || scheduledAt(o, Date.now())! <= Date.now() + DEFAULTS.maxDelaySec * 1000, {
    message: `must be at most ${DEFAULTS.maxDelaySec / 86_400} days ahead`,
    path: ["runAt"],
  });

export type JobOptions = Omit<z.input<typeof jobOptionsSchema>, "runAt"> & { runAt?: number | string | Date };

/** The body of `POST /v1/queues/:queue/jobs`, and one entry of a batch. */
export const enqueueRequestSchema = z.strictObject({
  task: taskNameSchema,
  args: jsonValueSchema.optional(),
  options: jobOptionsSchema.optional(),
});
export type EnqueueRequest = z.input<typeof enqueueRequestSchema>;

/** When options put a job off, epoch ms; undefined when they do not. */
export function scheduledAt(options: { runAt?: number | string; delayMs?: number }, now: number): number | undefined {
  if (options.delayMs !== undefined) return now + options.delayMs;
  return typeof options.runAt === "string" ? Date.parse(options.runAt) : options.runAt;
}
