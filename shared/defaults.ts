// Every default of edgeq in one place, as rq keeps defaults.py: the job's,
// the worker's, the edge's and the CLIs'. Each process reads its settings
// (worker-node/config.ts, edge/config.ts) and falls back to these.

const SECOND = 1_000;
const DAY_SEC = 24 * 3600;

export const DEFAULTS = {
  /** Key prefix of a deployment; keys are `{prefix}:…`, one Cluster hash slot. */
  prefix: "edgeq",
  /** Redis over TCP, for the worker, the admin CLI and the gateway. */
  redisUrl: "redis://127.0.0.1:6379",
  /** The name Sentinel monitors the master by (REDIS_SENTINEL_NAME), as Sentinel's own example config names it. */
  sentinelName: "mymaster",
  /** Replicas that must have an enqueue or a job's ending before it is acknowledged (EDGEQ_WAIT_REPLICAS): off. */
  waitReplicas: 0,
  /** How long WAIT waits for them (EDGEQ_WAIT_TIMEOUT_MS): past it the write is not acknowledged. */
  waitTimeoutMs: SECOND,

  /** A job's longest run before its horse is killed (rq: 180 s). */
  timeoutMs: 180 * SECOND,
  /** How long a finished job and its result are kept (rq: 500 s). */
  resultTtlSec: 500,
  /** How long a failed, stopped or canceled job is kept (rq: one year). */
  failureTtlSec: 365 * DAY_SEC,
  /** The bounds of a job's options for every producer, and every API key's ceilings (a key may set stricter ones). */
  maxTimeoutMs: DAY_SEC * SECOND,
  maxRetries: 100,
  /** How far ahead `runAt` or `delayMs` may put a job. */
  maxDelaySec: 365 * DAY_SEC,
  /** Largest `args`, as bytes of JSON. */
  maxArgsBytes: 512 * 1024,
  /** Largest result a task may return, as bytes of JSON; a larger one fails the job. */
  maxResultBytes: 512 * 1024,
  /** Largest value of one ctx.progress() or ctx.setMeta() call, as bytes of JSON. */
  maxProgressBytes: 16 * 1024,
  /** How long an Idempotency-Key remembers its job. */
  idempotencyTtlSec: DAY_SEC,
  /** The lowest priority a job may have (1 is the highest; none at all comes before 1, as in BullMQ). */
  maxPriority: 2 ** 21 - 1,
  /** The longest pause between retries, however many attempts an exponential backoff has made. */
  maxBackoffMs: 24 * 3600 * SECOND,
  /** Earlier attempts kept per job (the latest is the job itself). */
  attemptsKept: 20,
  /** How long a worker's declaration of its tasks counts: running workers declare again every hour. */
  taskDeclarationTtlMs: DAY_SEC * SECOND,
  taskDeclareEveryMs: 3600 * SECOND,
  /** Most tasks one worker may declare. */
  maxDeclaredTasks: 500,
  /** How long the edge trusts its copy of a queue's declared tasks before reading them again. */
  taskCacheMs: 10 * SECOND,

  /** The most items one script call pops, moves or visits: every script does bounded work. */
  scriptBatch: 100,
  /** The most steps (ctx.step) one job may record; each result within maxResultBytes. */
  maxSteps: 1000,
  /** A job's log (ctx.log) keeps its latest lines, this many at most, and the number it dropped. */
  maxLogLines: 1000,
  /** … and this many bytes at most, counted as stored (each line as JSON with its time and attempt). */
  maxLogBytes: 256 * 1024,
  /** Longest text of one log line, as UTF-8 bytes; a longer one is cut, and says so. */
  maxLogLineBytes: 16 * 1024,
  /** Most log lines one read (GET /v1/jobs/:id/logs, queue.logs) answers. */
  maxLogPage: 1000,
  /** The most loaded groups of a queue that /metrics shows: a million tenants must not make a million series. */
  metricsTopGroups: 10,
  /** How long a debounce key outlives its job's latest start, should the job wait longer in a busy queue. */
  debounceGraceMs: DAY_SEC * SECOND,
  /** About how many transitions a queue's event stream keeps (as BullMQ's events stream): its resumable window. */
  queueEventsMaxLen: 10_000,
  /** Largest progress value (bytes of JSON) and error message (bytes) an event of the stream carries. */
  queueEventValueBytes: 512,
  /** How long the per-minute counters of a queue (the dashboard's chart) are kept. */
  minuteStatsTtlSec: 2 * 3600,

  /** Queues a worker listens on. */
  queues: ["default"],
  /** Jobs a worker runs at once. */
  concurrency: 1,
  /** Where a job runs: a child process per job (rq's work horse); "thread" and "inline" are lighter (README). */
  isolation: "process",
  /** Jobs a horse serves before it is replaced (1: a fresh process per job). */
  horseMaxJobs: 1,
  /** Ceiling of a horse's JavaScript heap, in MB; null: V8's own, a few GB. */
  horseMaxMemoryMb: null,
  /** A horse's whole environment unless --horse-env or EDGEQ_HORSE_ENV name more: no REDIS_URL, no NODE_OPTIONS. */
  horseEnv: ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "NODE_ENV", "LOG_LEVEL"],
  /** How long a claim holds a job without renewal; renewed every third of it. */
  leaseMs: 30 * SECOND,
  /** Idle heartbeat interval; a worker entry expires after three missed ones. */
  heartbeatMs: 60 * SECOND,
  /** How often the fleet recovers expired leases and promotes due jobs. */
  maintenanceMs: 60 * SECOND,
  /** Time between SIGTERM and SIGKILL for a horse that must stop. */
  killGraceMs: 5 * SECOND,
  /** Longest blocking wait of an idle worker with nothing scheduled. */
  idleBlockMs: 300 * SECOND,
  /** At most how often a running job's progress is written; the last value always is, with the outcome. */
  progressIntervalMs: 250,
  /** Callback deliveries one worker makes at once. */
  callbackConcurrency: 4,
  /** Attempts at a callback before it is recorded as failed. */
  callbackAttempts: 8,
  /** How long a worker holds a delivery it took; another worker retries it after that. */
  callbackLeaseMs: 60 * SECOND,
  /** The longest a receiver may take to answer a callback. */
  callbackTimeoutMs: 10 * SECOND,
  /** The pause after a callback's first failed attempt; each next is four times longer, up to an hour, jittered. */
  callbackBackoffMs: 5 * SECOND,
  /** pino log level of workers, horses and the gateway. */
  logLevel: "info",

  /** Largest HTTP request body the edge and the gateway accept. */
  maxBodyBytes: 1024 * 1024,
  /** The gateway's port and address. */
  gatewayPort: 8079,
  gatewayHost: "127.0.0.1",
  /** Redis connections the gateway shares among all requests. */
  gatewayPoolSize: 4,
  /** Subscriptions a gateway holds at once, one Redis connection each; with its HTTP socket, two open files apiece. */
  gatewayMaxSubscriptions: 256,
  /** How the gateway keeps server administration from its clients: as a restricted Redis user, made if need be. */
  gatewayAcl: "provision",
  /** The Node edge entry's port and address. */
  edgePort: 8787,
  edgeHost: "127.0.0.1",
  /** How far a webhook's signed timestamp may be from now. */
  hookToleranceSec: 300,
  /**
   * How long the intake remembers a delivery it accepted, so that a replay is not run again; never less than twice
   * the tolerance, so every timestamp the intake would accept is covered.
   */
  hookReplayWindowSec: DAY_SEC,
  /** Deepest nesting of a JSON body; deeper ones would exhaust the stack of the validator and of JSON.stringify. */
  maxJsonDepth: 64,
  /** Longest `?wait` of `GET /v1/jobs/:id`. */
  maxWaitSec: 25,
} as const;

/** A deployment's key prefix: what `EDGEQ_PREFIX` may hold, on every side. */
export const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;
