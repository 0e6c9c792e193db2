// The typed face of the Lua state machine: one function per script, taking
// named parameters and answering typed replies, so that a caller cannot pass
// arguments in the wrong order or misread a reply. Everything that runs a
// script (the producer API, the worker, the tests) goes through here; the
// ARGV order each script expects is spelled once, in the file of its domain
// noun below, to be read beside the script's header in its .lua file. Callers
// import `* as scripts` from this index and name scripts.claim, scripts.counts, ….

/** One script call, ready to run alone or in a pipeline with others (shared/script.ts). */
export type { Call } from "../script.ts";
export * from "./transition.ts";
export * from "./jobs.ts";
export * from "./logs.ts";
export * from "./queues.ts";
export * from "./deliveries.ts";
export * from "./requests.ts";
export * from "./schedules.ts";
export * from "./groups.ts";
