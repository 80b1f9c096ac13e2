/**
 * idflow's public API for task authors: everything a task file imports comes from here.
 *   import { workerTask, type TaskContext } from "idflow";
 */
export { workerTask, getWorkerTaskOptions, WORKER_TASK_METADATA, type WorkerTaskDecorator } from "./task/worker-task.ts";
export type { TaskContext, TaskFunction } from "./task/context.ts";
export { inProgress, isInProgress, type InProgressResult } from "./task/results.ts";
export { TerminalError, RetryableError, TaskCancelledError } from "./task/errors.ts";
export { batches, isBatchProgress, type Batch, type BatchRun, type BatchesOptions, type BatchProgress, type AttemptRange, type BatchMetric } from "./task/batches.ts";
export { TASK_DEFAULTS, WORKER_DEFAULTS } from "./task/options.ts";
export type { WorkerTaskOptions, TaskDefOptions, WorkerOptions, RetryLogic, TimeoutPolicy, Isolation } from "./task/options.ts";
export type { Registration, LoadError, DiscoveryResult } from "./task/registration.ts";
export { getCurrentContext } from "./runtime/context.ts";
