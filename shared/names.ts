// The names edgeq accepts (queues, job ids, tasks, groups, key prefixes) and
// the JSON it stores: the leaves every other module's checks are built on.
import { z } from "zod";
import { PREFIX } from "./defaults.ts";

export const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const JOB_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
export const TASK_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

export const queueNameSchema = z
  .string()
  .regex(QUEUE_NAME, "must be 1-64 characters of letters, digits, '_', '.' or '-'");
export const jobIdSchema = z
  .string()
  .regex(JOB_ID, "must be 1-128 characters of letters, digits, '_', '.', ':' or '-'");
export const taskNameSchema = z
  .string()
  .regex(TASK_NAME, "must be 1-128 characters of letters, digits, '_', '.', ':' or '-'");

/** An event a durable job waits for (ctx.waitForEvent), and its key: the id alphabet. */
export const eventNameSchema = z
  .string()
  .regex(JOB_ID, "must be 1-128 characters of letters, digits, '_', '.', ':' or '-'");

/** A group within a queue (a tenant, a user, an API key): the id alphabet. */
export const groupNameSchema = jobIdSchema;

/** Where a reader of a queue's event stream is: an event's id, `<ms>-<n>`, or 0 for the stream's start. */
export const queueEventIdSchema = z
  .string()
  .regex(/^(\d{1,19}-\d{1,19}|0)$/, "must be an event id as the stream gave it (`<ms>-<n>`), or 0");

export const prefixSchema = z.string().regex(PREFIX, "must be 1-64 letters, digits, '_', '.', ':' or '-'");

/** Any JSON value; one instance, so tools that annotate it (OpenAPI) do it once. */
export const jsonValueSchema = z.json();
export type JsonValue = z.infer<typeof jsonValueSchema>;
