/**
 * idflow's public API for task authors: everything a task file imports comes from here.
 *   import { workerTask, type TaskContext } from "idflow";
 */
export { workerTask, getWorkerTaskOptions, WORKER_TASK_METADATA, type WorkerTaskDecorator } from "./task/worker-task.ts";
export type { TaskContext, TaskFunction } from "./task/context.ts";
export { inProgress, isInProgress, type InProgressResult } from "./task/results.ts";
export { TerminalError, RetryableError, TaskCancelledError } from "./task/errors.ts";
export {
  batches,
  isBatchProgress,
  type Batch,
  type BatchRun,
  type BatchesOptions,
  type BatchProgress,
  type AttemptRange,
  type BatchMetric,
} from "./task/batches.ts";
export { TASK_DEFAULTS, WORKER_DEFAULTS } from "./task/options.ts";
export type { WorkerTaskOptions, TaskDefOptions, WorkerOptions, RetryLogic, TimeoutPolicy, Isolation } from "./task/options.ts";
export type { Registration, LoadError, DiscoveryResult } from "./task/registration.ts";
export { getCurrentContext } from "./runtime/context.ts";

// Embedding: run workers inside your own process, and finish tasks or start workflows from it.
// Loaded on first use: a task file imports this module too, and must not pay for the runtime,
// the HTTP client and the configuration checks it does not use.
import type { CreateWorkersOptions, Workers } from "./api/create-workers.ts";
import type { ConnectOptions } from "./api/server.ts";
import type { WorkflowClient } from "./api/workflow-client.ts";

/** Start workers in this process (discovered under `root`, or the `tasks` given); see README "Embedding". */
export async function createWorkers(opts: CreateWorkersOptions = {}): Promise<Workers> {
  return (await import("./api/create-workers.ts")).createWorkers(opts);
}

/** A client for work outside workers: complete/fail tasks by id or reference name, start and wait for workflows. */
export async function createClient(opts: ConnectOptions = {}): Promise<WorkflowClient> {
  return (await import("./api/workflow-client.ts")).createClient(opts);
}

export { TaskNotFoundError } from "./api/errors.ts";
export type { CreateWorkersOptions, Workers, WorkerDefinition } from "./api/create-workers.ts";
export type { WorkflowClient, FailOptions, StartOptions } from "./api/workflow-client.ts";
export type { ServerOptions, ConnectOptions } from "./api/server.ts";
export type { RuntimeEvents, RuntimeEventMap, RuntimeEventName } from "./runtime/events.ts";
export type { PollingPatch, RunSummary } from "./runtime/handler.ts";
export type { WorkerSettings } from "./runtime/poller.ts";
export { resolveConfig, type ResolvedConfig } from "./config.ts";
// Metrics and health for an app that serves them itself: `idflow/observe` (src/observe/index.ts),
// a subpath of its own so that task files never load prom-client.
