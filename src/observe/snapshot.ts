/**
 * The live state metrics gauges and health checks read at request time (events say what
 * happened; this says how things stand now): each worker's slots and poll settings.
 */
import type { WorkerRun } from "../runtime/handler.ts";

export interface WorkerSnapshot {
  workers: Array<{
    name: string;
    domain?: string;
    concurrency: number;
    inFlight: number;
    /** Pause after an empty poll (ms). */
    pollIntervalMs: number;
    /** Server-side long-poll wait (ms). */
    pollTimeoutMs: number;
  }>;
}

/** The snapshot of a running `runWorkers` run. */
export function snapshotOf(run: Pick<WorkerRun, "workers" | "stats">): WorkerSnapshot {
  const stats = run.stats().workers;
  return {
    workers: run.workers.map((w) => ({
      name: w.name,
      domain: w.domain,
      concurrency: w.concurrency,
      inFlight: stats[w.name + (w.domain ? `@${w.domain}` : "")]?.inFlight ?? 0,
      pollIntervalMs: w.pollIntervalMs,
      pollTimeoutMs: w.pollTimeoutMs,
    })),
  };
}
