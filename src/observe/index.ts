/**
 * `idflow/observe`: metrics and health for an app that serves them itself
 * (`createWorkers({ metricsPort })` serves them for you). A subpath of its own, so that a task
 * file importing `idflow` never loads prom-client.
 *   import { WorkerMetrics, WorkerHealth, snapshotOf } from "idflow/observe";
 */
export { WorkerMetrics, type WorkerMetricsOptions } from "./metrics.ts";
export { WorkerHealth, type HealthOptions, type LiveReport, type ReadyReport } from "./health.ts";
export { snapshotOf, type WorkerSnapshot } from "./snapshot.ts";
