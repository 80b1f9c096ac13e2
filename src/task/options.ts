/**
 * Everything `@workerTask({...})` accepts, declared once. Each field has its type and a
 * one-line doc; defaults live in TASK_DEFAULTS / WORKER_DEFAULTS below so that the TaskDef
 * mapping, the runtime, `worker list` and the README all read the same values.
 */

export type RetryLogic = "FIXED" | "LINEAR_BACKOFF" | "EXPONENTIAL_BACKOFF";
export type TimeoutPolicy = "RETRY" | "TIME_OUT_WF" | "ALERT_ONLY";
export type Isolation = "none" | "thread";

/** Fields that end up in the Conductor task definition. */
export interface TaskDefOptions {
  /** Human description, copied into the task definition. */
  description?: string;
  /** How many times Conductor retries a FAILED task (0 = never). */
  retryCount?: number;
  /** How the delay between retries grows. */
  retryLogic?: RetryLogic;
  /** Base delay between retries, in seconds. */
  retryDelaySeconds?: number;
  /** Multiplier for LINEAR_BACKOFF. */
  backoffScaleFactor?: number;
  /** Overall time limit for one task execution in seconds, as Conductor enforces it (0 = none). */
  timeoutSeconds?: number;
  /** What Conductor does when timeoutSeconds is exceeded. */
  timeoutPolicy?: TimeoutPolicy;
  /** Seconds without an update after which Conductor times the task out and retries it. */
  responseTimeoutSeconds?: number;
  /** Seconds a task may wait in the queue for a worker before it times out (0 = forever). */
  pollTimeoutSeconds?: number;
  /** At most this many executions of this task at once across all workers (0 = no limit). */
  concurrentExecLimit?: number;
  /** Rate limit: at most this many executions per rateLimitFrequencyInSeconds (0 = none). */
  rateLimitPerFrequency?: number;
  /** Rate limit window in seconds. */
  rateLimitFrequencyInSeconds?: number;
  /** Documented input keys. */
  inputKeys?: string[];
  /** Documented output keys. */
  outputKeys?: string[];
  /** Default input values merged by Conductor under the workflow's inputs. */
  inputTemplate?: Record<string, unknown>;
  /** Owner e-mail (required by servers with ownerEmailMandatory). */
  ownerEmail?: string;
  /** JSON Schema of the input. */
  inputSchema?: Record<string, unknown>;
  /** JSON Schema of the output. */
  outputSchema?: Record<string, unknown>;
}

/** Fields that only the idflow runtime reads. */
export interface WorkerOptions {
  /** Most tasks of this type running at once in this process. */
  concurrency?: number;
  /** Pause after an empty poll, in milliseconds. */
  pollIntervalMs?: number;
  /** Long-poll wait on the server, in milliseconds (Conductor caps it at 5000). */
  pollTimeoutMs?: number;
  /** Worker id reported to Conductor (default: hostname-pid). */
  workerId?: string;
  /** Abort and fail an execution that runs longer than this, in seconds (0 = no limit). */
  execTimeoutSeconds?: number;
  /** Heartbeat automatically so long tasks outlive responseTimeoutSeconds. */
  leaseExtend?: boolean;
  /** Least time between two checkpoint updates sent to Conductor, in ms (ctx.checkpoint, ctx.batches). */
  checkpointIntervalMs?: number;
  /** Run the function in a worker thread ("thread") so CPU work does not stall polling. */
  isolation?: Isolation;
  /** Registered but not polled (can be flipped by CONDUCTOR_WORKER_<TASK>_PAUSED). */
  paused?: boolean;
}

export interface WorkerTaskOptions extends TaskDefOptions, WorkerOptions {
  /** The Conductor task type this function serves. Required. */
  name: string;
  /** Task domain to poll in (optional; routes tasks to a subset of workers). */
  domain?: string;
}

/**
 * The worker options that configuration may override per task (or for all), declared once:
 * type and bounds, a one-line doc, the CONDUCTOR_WORKER_<TASK>_<PROP> suffixes (first one
 * documented; the others are the official SDKs' spellings) and the `worker start` flag.
 * The environment overrides, the project file's "workers" (and its JSON Schema) and the
 * `worker start` flags all derive from this table.
 */
export const WORKER_SETTING_DECLS = {
  pollIntervalMs: {
    type: "integer",
    minimum: 0,
    doc: "pause after an empty poll, in milliseconds",
    env: ["POLL_INTERVAL", "POLL_INTERVAL_MILLIS"],
    flag: "poll-interval",
  },
  concurrency: { type: "integer", minimum: 1, doc: "most tasks of this worker running at once", env: ["CONCURRENCY", "THREAD_COUNT"], flag: "concurrency" },
  domain: { type: "name", doc: "task domain to poll in", env: ["DOMAIN"], flag: "domain" },
  paused: { type: "boolean", doc: "registered but not polled", env: ["PAUSED"] },
  pollTimeoutMs: {
    type: "integer",
    minimum: 0,
    maximum: 5000,
    doc: "long-poll wait on the server, in milliseconds (0-5000)",
    env: ["POLL_TIMEOUT", "POLL_TIMEOUT_MILLIS"],
    flag: "poll-timeout",
  },
  workerId: { type: "string", doc: "worker id reported to Conductor (default: hostname-pid)", env: ["WORKER_ID"], flag: "worker-id" },
  execTimeoutSeconds: {
    type: "number",
    minimum: 0,
    doc: "abort and fail an execution that runs longer, in seconds (0 = none)",
    env: ["EXEC_TIMEOUT", "EXEC_TIMEOUT_SECONDS"],
    flag: "exec-timeout",
  },
  leaseExtend: { type: "boolean", doc: "heartbeat automatically before responseTimeoutSeconds runs out", env: ["LEASE_EXTEND", "LEASE_EXTEND_ENABLED"] },
  checkpointIntervalMs: { type: "integer", minimum: 0, doc: "least time between two checkpoint updates, in milliseconds", env: ["CHECKPOINT_INTERVAL"] },
} as const satisfies Record<string, WorkerSettingDecl>;

export interface WorkerSettingDecl {
  /** "name": letters, digits, "_", "-" and "." only. */
  type: "integer" | "number" | "boolean" | "string" | "name";
  minimum?: number;
  maximum?: number;
  doc: string;
  env: readonly string[];
  flag?: string;
}

/** Worker options as configuration gives them (file, environment, API). */
export type WorkerSettingValues = {
  -readonly [K in keyof typeof WORKER_SETTING_DECLS]?: (typeof WORKER_SETTING_DECLS)[K]["type"] extends "boolean"
    ? boolean
    : (typeof WORKER_SETTING_DECLS)[K]["type"] extends "string" | "name"
      ? string
      : number;
};

/** Worker defaults (what the runtime uses when neither decorator, env nor flag says). */
export const WORKER_DEFAULTS = {
  concurrency: 1,
  pollIntervalMs: 100,
  pollTimeoutMs: 100,
  execTimeoutSeconds: 0,
  leaseExtend: false,
  checkpointIntervalMs: 2000,
  isolation: "none" as Isolation,
  paused: false,
} satisfies Required<Omit<WorkerOptions, "workerId">>;

/**
 * Task-definition defaults: what `toTaskDef` writes when the decorator says nothing.
 * Conductor's own defaults are kept except two, chosen for people developing workflows:
 * a retry comes after 5 s instead of 60 s, and a task whose worker went silent is timed out
 * (and retried) after 10 minutes instead of an hour. `timeoutSeconds` 0 means no overall limit.
 */
export const TASK_DEFAULTS = {
  retryCount: 3,
  retryLogic: "FIXED" as RetryLogic,
  retryDelaySeconds: 5,
  backoffScaleFactor: 1,
  timeoutSeconds: 0,
  timeoutPolicy: "TIME_OUT_WF" as TimeoutPolicy,
  responseTimeoutSeconds: 600,
  concurrentExecLimit: 0,
  rateLimitPerFrequency: 0,
  rateLimitFrequencyInSeconds: 1,
} as const;

/** The most Conductor accepts for a long poll (`timeout` above this is a 400). */
export const MAX_POLL_TIMEOUT_MS = 5000;
