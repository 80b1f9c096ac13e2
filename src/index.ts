/**
 * idflow's public API for task authors: everything a task file imports comes from here.
 *   import { workerTask, type TaskContext } from "idflow";
 */
export { workerTask, getWorkerTaskOptions, WORKER_TASK_METADATA, type WorkerTaskDecorator } from "./task/worker-task.ts";
export type { TaskContext, TaskFunction } from "./task/context.ts";
export { inProgress, isInProgress, type InProgressResult } from "./task/results.ts";
export { TerminalError, RetryableError } from "./task/errors.ts";
export { TASK_DEFAULTS, WORKER_DEFAULTS } from "./task/options.ts";
export type { WorkerTaskOptions, TaskDefOptions, WorkerOptions, RetryLogic, TimeoutPolicy, Isolation } from "./task/options.ts";
export type { Registration, LoadError, DiscoveryResult } from "./task/registration.ts";
export { getCurrentContext } from "./runtime/context.ts";

// Embedding: run workers inside your own process, and finish tasks or start workflows from it.
export { createWorkers, type CreateWorkersOptions, type Workers, type WorkerDefinition } from "./api/create-workers.ts";
export { WorkflowClient, TaskNotFoundError, type FailOptions, type StartOptions } from "./api/workflow-client.ts";
export type { ServerOptions, ConnectOptions } from "./api/server.ts";
export type { RuntimeEvents, RuntimeEventMap, RuntimeEventName } from "./runtime/events.ts";
export type { PollingPatch, RunSummary } from "./runtime/handler.ts";
export type { WorkerSettings } from "./runtime/poller.ts";
export { resolveConfig, type ResolvedConfig } from "./config.ts";
