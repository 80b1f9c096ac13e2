/**
 * Prometheus metrics for a worker run, built by listening to the run's events
 * (src/runtime/events.ts) and, for gauges, by reading the run's live state at scrape time.
 * Names follow the Conductor SDKs' canonical catalogue (python-sdk and javascript-sdk,
 * `WORKER_CANONICAL_METRICS=true`: camelCase `taskType` label, seconds, histograms with the
 * same buckets) wherever they have a metric for the same thing, so their dashboards work;
 * what they lack is prefixed `idflow_`. Every metric is listed in the README.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RuntimeEvents } from "../runtime/events.ts";
import type { WorkerSnapshot } from "./snapshot.ts";

/** The canonical catalogue's time buckets (seconds). */
export const TIME_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Queue wait can be long (a task waits for a free worker): wider buckets. */
export const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export interface WorkerMetricsOptions {
  events: RuntimeEvents;
  /** Live state for the gauges (in flight, free slots); read at each scrape. */
  snapshot?: () => WorkerSnapshot | undefined;
  /** Where the metrics are registered (a fresh registry by default). */
  registry?: Registry;
  /** Node's process metrics (CPU, memory, event-loop lag, GC, handles): default true. */
  defaultMetrics?: boolean;
}

type TaskLabels = "taskType";

/** The labelled children of one task type, looked up once (label hashing is most of the cost). */
interface PerType {
  polls: Counter.Internal;
  pollTasks: Counter.Internal;
  pollEmpty: Counter.Internal;
  pollError: Counter.Internal;
  pollErrors: Counter.Internal;
  pollOk: Histogram.Internal<string>;
  pollFail: Histogram.Internal<string>;
  started: Counter.Internal;
  queueWait: Histogram.Internal<string>;
  execOk: Histogram.Internal<string>;
  execFail: Histogram.Internal<string>;
  results: Map<string, Counter.Internal>;
  timedOut: Counter.Internal;
  updateOk: Counter.Internal;
  updateFailed: Counter.Internal;
  updateError: Counter.Internal;
  updateTimeOk: Histogram.Internal<string>;
  updateTimeFail: Histogram.Internal<string>;
  restarts: Counter.Internal;
}

export class WorkerMetrics {
  readonly registry: Registry;
  private readonly types = new Map<string, PerType>();
  private spooledSeen = 0;
  private readonly unsubscribe: Array<() => void> = [];

  private readonly m;

  constructor(private readonly opts: WorkerMetricsOptions) {
    const registry = (this.registry = opts.registry ?? new Registry());
    const registers = [registry];
    const snapshot = () => opts.snapshot?.();
    const c = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers });
    const h = (name: string, help: string, labelNames: string[], buckets: number[]) => new Histogram({ name, help, labelNames, buckets, registers });
    const perWorkerGauge = (name: string, help: string, value: (w: WorkerSnapshot["workers"][number]) => number) =>
      new Gauge<TaskLabels>({
        name,
        help,
        labelNames: ["taskType"],
        registers,
        collect() {
          this.reset();
          const sums = new Map<string, number>();
          for (const w of snapshot()?.workers ?? []) sums.set(w.name, (sums.get(w.name) ?? 0) + value(w));
          for (const [taskType, v] of sums) this.set({ taskType }, v);
        },
      });
    this.m = {
      // canonical (cross-SDK) names
      poll: c("task_poll_total", "Poll requests sent to Conductor.", ["taskType"]),
      pollError: c("task_poll_error_total", "Poll requests that failed (no answer or an error answer).", ["taskType", "exception"]),
      pollTime: h("task_poll_time_seconds", "Poll request latency; status SUCCESS or FAILURE.", ["taskType", "status"], TIME_BUCKETS),
      started: c("task_execution_started_total", "Tasks received and started (from a poll, or handed back by update-v2).", ["taskType"]),
      execTime: h(
        "task_execute_time_seconds",
        "Task function execution time; status SUCCESS (returned) or FAILURE (threw, timed out, aborted).",
        ["taskType", "status"],
        TIME_BUCKETS,
      ),
      execError: c("task_execute_error_total", "Executions that ended FAILED; exception is TerminalError, TimeoutError or Error.", ["taskType", "exception"]),
      updateTime: h(
        "task_update_time_seconds",
        "Result update latency (update-v2 or POST /tasks); status SUCCESS or FAILURE.",
        ["taskType", "status"],
        TIME_BUCKETS,
      ),
      updateError: c("task_update_error_total", "Result deliveries that failed (retried later, never dropped silently).", ["taskType", "exception"]),
      restarts: c("worker_restart_total", "Poll loops the watchdog restarted because they stopped moving.", ["taskType"]),
      active: perWorkerGauge("active_workers", "Tasks in flight (executing, or delivering their result).", (w) => w.inFlight),
      // idflow's own
      pollOutcome: c("idflow_task_poll_outcome_total", "Poll requests by outcome: tasks (brought work), empty, error.", ["taskType", "outcome"]),
      results: c("idflow_task_results_total", "Executions by result status: COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR, IN_PROGRESS.", [
        "taskType",
        "status",
      ]),
      timedOut: c("idflow_task_timed_out_total", "Executions stopped by the execution timeout (execTimeoutSeconds).", ["taskType"]),
      queueWait: h("idflow_task_queue_wait_seconds", "From the task's scheduledTime on the server to its start in a worker.", ["taskType"], QUEUE_WAIT_BUCKETS),
      deliveries: c("idflow_result_delivery_attempts_total", "Attempts to send a result to Conductor, by outcome ok or error.", ["taskType", "outcome"]),
      dropped: c("idflow_results_dropped_total", "Results Conductor will never take (404: the task is gone; refused twice).", ["taskType"]),
      backlog: new Gauge({ name: "idflow_result_backlog", help: "Results waiting for delivery (in memory and on disk).", registers }),
      spooled: c("idflow_results_spooled_total", "Results written to the spool at shutdown, delivered by the next start.", []),
      concurrency: perWorkerGauge("idflow_worker_concurrency", "Most tasks a worker runs at once.", (w) => w.concurrency),
      free: perWorkerGauge("idflow_worker_free_slots", "Slots a worker could fill now (concurrency minus in flight).", (w) =>
        Math.max(0, w.concurrency - w.inFlight),
      ),
    };
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    this.listen();
  }

  private type(taskType: string): PerType {
    let t = this.types.get(taskType);
    if (t) return t;
    const m = this.m;
    const l = { taskType };
    t = {
      polls: m.poll.labels(l),
      pollTasks: m.pollOutcome.labels({ taskType, outcome: "tasks" }),
      pollEmpty: m.pollOutcome.labels({ taskType, outcome: "empty" }),
      pollError: m.pollOutcome.labels({ taskType, outcome: "error" }),
      pollErrors: m.pollError.labels({ taskType, exception: "ConductorError" }),
      pollOk: m.pollTime.labels({ taskType, status: "SUCCESS" }),
      pollFail: m.pollTime.labels({ taskType, status: "FAILURE" }),
      started: m.started.labels(l),
      queueWait: m.queueWait.labels(l),
      execOk: m.execTime.labels({ taskType, status: "SUCCESS" }),
      execFail: m.execTime.labels({ taskType, status: "FAILURE" }),
      results: new Map(),
      timedOut: m.timedOut.labels(l),
      updateOk: m.deliveries.labels({ taskType, outcome: "ok" }),
      updateFailed: m.deliveries.labels({ taskType, outcome: "error" }),
      updateError: m.updateError.labels({ taskType, exception: "ConductorError" }),
      updateTimeOk: m.updateTime.labels({ taskType, status: "SUCCESS" }),
      updateTimeFail: m.updateTime.labels({ taskType, status: "FAILURE" }),
      restarts: m.restarts.labels(l),
    } as PerType;
    this.types.set(taskType, t);
    return t;
  }

  private listen(): void {
    const ev = this.opts.events;
    const on: RuntimeEvents["on"] = (name, fn) => {
      const off = ev.on(name, fn);
      this.unsubscribe.push(off);
      return off;
    };
    on("poll", (e) => {
      const t = this.type(e.worker);
      t.polls.inc();
      const secs = e.durationMs / 1000;
      if (e.outcome === "error") {
        t.pollError.inc();
        t.pollErrors.inc();
        t.pollFail.observe(secs);
      } else {
        (e.outcome === "tasks" ? t.pollTasks : t.pollEmpty).inc();
        t.pollOk.observe(secs);
      }
    });
    on("task:started", (e) => {
      const t = this.type(e.worker);
      t.started.inc();
      if (e.queueWaitMs !== undefined) t.queueWait.observe(e.queueWaitMs / 1000);
    });
    on("task:finished", (e) => {
      const t = this.type(e.worker);
      if (e.cancelled) {
        // Stopped because the server cancelled it: counted as such, and no delivery follows.
        let r = t.results.get("CANCELED");
        if (!r) t.results.set("CANCELED", (r = this.m.results.labels({ taskType: e.worker, status: "CANCELED" })));
        r.inc();
        return;
      }
      const failed = e.status === "FAILED" || e.status === "FAILED_WITH_TERMINAL_ERROR";
      (failed ? t.execFail : t.execOk).observe(e.durationMs / 1000);
      let r = t.results.get(e.status);
      if (!r) t.results.set(e.status, (r = this.m.results.labels({ taskType: e.worker, status: e.status })));
      r.inc();
      if (e.timedOut) t.timedOut.inc();
      if (failed)
        this.m.execError.inc({
          taskType: e.worker,
          exception: e.timedOut ? "TimeoutError" : e.status === "FAILED_WITH_TERMINAL_ERROR" ? "TerminalError" : "Error",
        });
    });
    on("delivery:attempt", (e) => {
      const t = this.type(e.worker ?? "unknown");
      if (e.ok) t.updateOk.inc();
      else {
        t.updateFailed.inc();
        t.updateError.inc();
      }
      if (e.durationMs !== undefined) (e.ok ? t.updateTimeOk : t.updateTimeFail).observe(e.durationMs / 1000);
    });
    on("delivery:dropped", (e) => {
      this.m.dropped.inc({ taskType: e.worker ?? "unknown" });
    });
    on("delivery:backlog", (e) => {
      this.m.backlog.set(e.backlog);
      if (e.spooled > this.spooledSeen) {
        this.m.spooled.inc(e.spooled - this.spooledSeen);
        this.spooledSeen = e.spooled;
      }
    });
    on("watchdog:restart", (e) => this.type(e.worker).restarts.inc());
  }

  /** The text Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stop listening (the registry keeps its values). */
  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
