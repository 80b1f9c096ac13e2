/**
 * The programmatic API for services that run workers in their own process:
 *
 *   const workers = await createWorkers({ root: "." });          // every worker under tasks/
 *   const workers = await createWorkers({ tasks: [greet] });     // or the functions you give
 *   workers.updatePollingOptions("greet", { concurrency: 10 });  // applied while running
 *   workers.events.on("task:finished", (e) => ...);              // see src/runtime/events.ts
 *   await workers.stop();                                        // the same drain as SIGTERM
 *
 * Settings: `workers` here > CONDUCTOR_WORKER_* > idflow.config.json "workers" > the decorator.
 * No signal handler is installed unless `handleSignals: true`: the host app owns its process.
 */
import type { Logger } from "pino";
import { toTaskDef } from "../discovery/task-def.ts";
import { discover } from "../discovery/discover.ts";
import { applyEnvOverrides } from "../discovery/env-overrides.ts";
import { applyFileOverrides } from "../discovery/file-overrides.ts";
import type { FileWorkerOptions } from "../config.ts";
import { createLogger, silentLogger } from "../log.ts";
import { runWorkers, type PollingPatch, type RunSummary, type WorkerRun } from "../runtime/handler.ts";
import type { PollerStats, WorkerSettings } from "../runtime/poller.ts";
import type { DeliveryStats } from "../runtime/delivery.ts";
import { RuntimeEvents } from "../runtime/events.ts";
import type { TaskFunction } from "../task/context.ts";
import type { WorkerTaskOptions } from "../task/options.ts";
import type { Registration } from "../task/registration.ts";
import { validateOptions } from "../task/validate-options.ts";
import { getWorkerTaskOptions } from "../task/worker-task.ts";
import { connectApi, type ConnectOptions } from "./server.ts";
import { WorkflowClient } from "./workflow-client.ts";

/** A worker given in code: a function wrapped with workerTask({...}), or its options and function. */
export type WorkerDefinition = TaskFunction | { options: WorkerTaskOptions; fn: TaskFunction };

export interface CreateWorkersOptions extends ConnectOptions {
  /** Run these instead of discovering tasks/ under root. */
  tasks?: WorkerDefinition[];
  /** Only the discovered workers with these task names (default: all but paused ones). */
  only?: string[];
  /** Worker options by task name or "*" (beat CONDUCTOR_WORKER_* and the project file). */
  workers?: Record<string, FileWorkerOptions>;
  /** Upsert the workers' task definitions before polling (default false). */
  upload?: boolean;
  /** A pino logger, or false for none (default: idflow's logger at the configured level, on stderr). */
  logger?: Logger | false;
  /** Install SIGINT/SIGTERM handlers that stop the workers (default false). */
  handleSignals?: boolean;
  /** How long in-flight tasks may run on in stop() (default: shutdownGraceSeconds, 30 s). */
  shutdownGraceMs?: number;
  /** idflow's state folder for the result spool (default: the configured stateDir). */
  stateDir?: string;
  /** Serve Prometheus /metrics and /health/live, /health/ready on this port (default: metricsPort of the configuration; unset: off). */
  metricsPort?: number;
  /** Address for metricsPort (default: the configuration's metricsHost, 127.0.0.1). */
  metricsHost?: string;
}

export interface Workers {
  /** What runs, with the settings in force. */
  readonly workers: WorkerSettings[];
  /** polls, task:started, task:finished (status COMPLETED / FAILED / ...), delivery:backlog, draining, stopped... */
  readonly events: RuntimeEvents;
  /** A client on the same connection: complete/fail tasks, start and wait for workflows. */
  readonly client: WorkflowClient;
  /** Stop polling, let running tasks finish (within the grace period), deliver their results. */
  stop(): Promise<RunSummary>;
  /** Resolves when the workers have stopped. */
  readonly finished: Promise<RunSummary>;
  /** True while at least one worker polls. */
  isPolling(): boolean;
  stats(): { delivery: DeliveryStats; workers: Record<string, PollerStats>; watchdogRestarts: number };
  /**
   * Change concurrency, pollIntervalMs, pollTimeoutMs or paused of one worker (task name) or all ("*")
   * while running. More slots are polled for at once; fewer are given up as their tasks finish (none is lost).
   */
  updatePollingOptions(name: string, patch: PollingPatch): WorkerSettings[];
  /** The /metrics URL when metricsPort is set (the endpoint closes when the workers have stopped). */
  readonly metricsUrl?: string;
}

export async function createWorkers(opts: CreateWorkersOptions = {}): Promise<Workers> {
  const { config, client, owned } = connectApi(opts, { metricsPort: opts.metricsPort, metricsHost: opts.metricsHost });
  const logger = opts.logger === false ? silentLogger() : (opts.logger ?? createLogger({ level: config.logLevel, format: config.logFormat }));
  let registrations: Registration[];
  if (opts.tasks) registrations = opts.tasks.map((t, i) => fromCode(t, i, config.workers));
  else {
    const found = await discover({ root: config.root, workers: config.workers });
    if (found.errors.length > 0)
      throw new Error(`some task folders under ${config.root}/tasks failed to load:\n${found.errors.map((e) => `  - ${e.message}`).join("\n")}`);
    registrations = opts.only ? found.registrations.filter((r) => opts.only!.includes(r.name)) : found.registrations.filter((r) => !r.options.paused);
    const missing = (opts.only ?? []).filter((n) => !registrations.some((r) => r.name === n));
    if (missing.length)
      throw new Error(
        `no worker named ${missing.join(", ")} under ${config.root}/tasks; found: ${found.registrations.map((r) => r.name).join(", ") || "none"}`,
      );
  }
  registrations = registrations.map((r) => withApiOverrides(r, opts.workers ?? {}));
  if (registrations.length === 0) throw new Error(`no worker to start: give tasks, or put task folders under ${config.root}/tasks`);
  if (opts.upload)
    await client.registerTaskDefs(
      registrations.map((r) => ({ ...toTaskDef(r), ...(config.ownerEmail && !r.options.ownerEmail ? { ownerEmail: config.ownerEmail } : {}) })),
    );

  const events = new RuntimeEvents();
  // Loaded only when asked for: prom-client alone is about 12 MB of resident memory.
  const observer =
    config.metricsPort === undefined
      ? undefined
      : await (await import("../observe/server.ts")).ObserveServer.start({ events, port: config.metricsPort, host: config.metricsHost });
  const run: WorkerRun = await runWorkers({
    client,
    events,
    registrations,
    stateDir: opts.stateDir ?? config.stateDir,
    logger,
    shutdownGraceMs: opts.shutdownGraceMs ?? config.shutdownGraceSeconds * 1000,
    handleSignals: opts.handleSignals ?? false,
  });
  observer?.attach(run);
  const finished = run.finished.then(async (summary) => {
    await observer?.close();
    if (owned) client.close();
    return summary;
  });
  return {
    workers: run.workers,
    events: run.events,
    client: new WorkflowClient({ server: client }),
    stop: async () => {
      await run.stop("stop");
      return finished;
    },
    finished,
    isPolling: run.isPolling,
    stats: run.stats,
    updatePollingOptions: run.update,
    ...(observer ? { metricsUrl: `${observer.url}/metrics` } : {}),
  };
}

function fromCode(t: WorkerDefinition, i: number, fileWorkers: Record<string, FileWorkerOptions>): Registration {
  const fn = typeof t === "function" ? t : t.fn;
  const options = typeof t === "function" ? getWorkerTaskOptions(t) : t.options;
  if (!options || typeof fn !== "function") {
    throw new TypeError(`tasks[${i}] must be a function wrapped with workerTask({ name: "..." }), or { options: { name }, fn }`);
  }
  const problems = validateOptions(options);
  if (problems.length) throw new TypeError(`tasks[${i}] (${String(options.name)}): ${problems.join("; ")}`);
  const fromFile = applyFileOverrides(options, fileWorkers);
  const merged = applyEnvOverrides(fromFile.options, process.env);
  if (merged.errors.length) throw new TypeError(`tasks[${i}] (${options.name}): ${merged.errors.join("; ")}`);
  const o = merged.options;
  return { name: o.name, ...(o.domain ? { domain: o.domain } : {}), options: o, fn, sourceFile: "(createWorkers)", symbol: fn.name || o.name };
}

function withApiOverrides(r: Registration, workers: Record<string, FileWorkerOptions>): Registration {
  const o: WorkerTaskOptions = { ...r.options, ...workers["*"], ...workers[r.name] };
  const problems = validateOptions(o);
  if (problems.length) throw new TypeError(`workers option for ${r.name}: ${problems.join("; ")}`);
  return { ...r, options: o, ...(o.domain ? { domain: o.domain } : {}) };
}
