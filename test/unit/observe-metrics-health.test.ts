/** Metrics and health worked out from runtime events (src/observe/): events are emitted by hand here; the e2e test runs real workers. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LOOP_RESOLUTION_MS, WorkerHealth } from "../../src/observe/health.ts";
import { WorkerMetrics } from "../../src/observe/metrics.ts";
import { ObserveServer } from "../../src/observe/server.ts";
import type { WorkerSnapshot } from "../../src/observe/snapshot.ts";
import { RuntimeEvents } from "../../src/runtime/events.ts";
import { metricValue } from "../support/prometheus.ts";

const value = metricValue;
const worker = (name: string, inFlight = 0, concurrency = 2): WorkerSnapshot["workers"][number] => ({
  name,
  concurrency,
  inFlight,
  pollIntervalMs: 100,
  pollTimeoutMs: 100,
});
const started = (w: string, taskId: string, queueWaitMs?: number) => ({
  worker: w,
  taskId,
  workflowId: "wf",
  chained: false,
  queueWaitMs,
  inFlight: 1,
  concurrency: 2,
});
const finished = (
  w: string,
  taskId: string,
  status: "COMPLETED" | "FAILED" | "FAILED_WITH_TERMINAL_ERROR" | "IN_PROGRESS",
  durationMs: number,
  timedOut = false,
  cancelled = false,
) => ({
  worker: w,
  taskId,
  workflowId: "wf",
  status,
  timedOut,
  cancelled,
  durationMs,
  inFlight: 1,
  concurrency: 2,
});

describe("metrics from runtime events", () => {
  it("counts polls by outcome, starts, results by status, timeouts, execution time, queue wait, deliveries, restarts, backlog and spool", async () => {
    const events = new RuntimeEvents();
    let snap: WorkerSnapshot = { workers: [worker("a", 1, 3), worker("b", 0, 1)] };
    const m = new WorkerMetrics({ events, snapshot: () => snap, defaultMetrics: false });
    events.emit("poll", { worker: "a", outcome: "tasks", count: 2, durationMs: 30 });
    events.emit("poll", { worker: "a", outcome: "empty", count: 0, durationMs: 100 });
    events.emit("poll", { worker: "a", outcome: "error", count: 0, durationMs: 5, error: "ECONNREFUSED" });
    events.emit("poll", { worker: "b", outcome: "empty", count: 0, durationMs: 2000 });
    events.emit("task:started", started("a", "t1", 1500));
    events.emit("task:started", started("a", "t2"));
    events.emit("task:started", started("a", "t3"));
    events.emit("task:finished", finished("a", "t1", "COMPLETED", 40));
    events.emit("task:finished", finished("a", "t2", "FAILED", 3000, true));
    events.emit("task:finished", finished("a", "t3", "FAILED_WITH_TERMINAL_ERROR", 2));
    events.emit("task:started", started("a", "t4"));
    events.emit("task:finished", finished("a", "t4", "FAILED", 5, false, true)); // cancelled on the server: not sent
    events.emit("delivery:attempt", { taskId: "t1", worker: "a", ok: true, durationMs: 20 });
    events.emit("delivery:attempt", { taskId: "t2", worker: "a", ok: false, error: "down", durationMs: 3000 });
    events.emit("delivery:attempt", { taskId: "t2", worker: "a", ok: true });
    events.emit("delivery:dropped", { taskId: "t3", worker: "a", reason: "404" });
    events.emit("delivery:attempt", { taskId: "t9", ok: true }); // a result an older idflow spooled: no task type
    events.emit("delivery:backlog", { backlog: 7, spooled: 0 });
    events.emit("delivery:backlog", { backlog: 0, spooled: 4 });
    events.emit("watchdog:restart", { worker: "b" });
    const text = await m.text();

    assert.equal(value(text, 'task_poll_total{taskType="a"}'), 3);
    assert.equal(value(text, 'task_poll_total{taskType="b"}'), 1);
    assert.equal(value(text, 'idflow_task_poll_outcome_total{taskType="a",outcome="tasks"}'), 1);
    assert.equal(value(text, 'idflow_task_poll_outcome_total{taskType="a",outcome="empty"}'), 1);
    assert.equal(value(text, 'idflow_task_poll_outcome_total{taskType="a",outcome="error"}'), 1);
    assert.equal(value(text, 'task_poll_error_total{taskType="a",exception="ConductorError"}'), 1);
    assert.equal(value(text, 'task_poll_time_seconds_count{taskType="a",status="SUCCESS"}'), 2);
    assert.equal(value(text, 'task_poll_time_seconds_count{taskType="a",status="FAILURE"}'), 1);
    assert.equal(value(text, 'task_poll_time_seconds_bucket{le="1",taskType="b",status="SUCCESS"}'), 0, "a 2 s poll is above the 1 s bucket");
    assert.equal(value(text, 'task_poll_time_seconds_bucket{le="2.5",taskType="b",status="SUCCESS"}'), 1);

    assert.equal(value(text, 'task_execution_started_total{taskType="a"}'), 4);
    assert.equal(value(text, 'idflow_task_results_total{taskType="a",status="CANCELED"}'), 1, "a task the server cancelled is counted as such");
    assert.equal(value(text, 'idflow_task_results_total{taskType="a",status="COMPLETED"}'), 1);
    assert.equal(value(text, 'idflow_task_results_total{taskType="a",status="FAILED"}'), 1);
    assert.equal(value(text, 'idflow_task_results_total{taskType="a",status="FAILED_WITH_TERMINAL_ERROR"}'), 1);
    assert.equal(value(text, 'idflow_task_timed_out_total{taskType="a"}'), 1);
    assert.equal(value(text, 'task_execute_error_total{taskType="a",exception="TimeoutError"}'), 1);
    assert.equal(value(text, 'task_execute_error_total{taskType="a",exception="TerminalError"}'), 1);
    assert.equal(value(text, 'task_execute_time_seconds_count{taskType="a",status="SUCCESS"}'), 1);
    assert.equal(value(text, 'task_execute_time_seconds_count{taskType="a",status="FAILURE"}'), 2);
    assert.ok(Math.abs(value(text, 'task_execute_time_seconds_sum{taskType="a",status="FAILURE"}')! - 3.002) < 1e-9);
    assert.equal(value(text, 'idflow_task_queue_wait_seconds_count{taskType="a"}'), 1, "only tasks with a scheduledTime");
    assert.equal(value(text, 'idflow_task_queue_wait_seconds_bucket{le="1",taskType="a"}'), 0);
    assert.equal(value(text, 'idflow_task_queue_wait_seconds_bucket{le="2.5",taskType="a"}'), 1);

    assert.equal(value(text, 'idflow_result_delivery_attempts_total{taskType="a",outcome="ok"}'), 2);
    assert.equal(value(text, 'idflow_result_delivery_attempts_total{taskType="a",outcome="error"}'), 1);
    assert.equal(value(text, 'idflow_result_delivery_attempts_total{taskType="unknown",outcome="ok"}'), 1, "a result without its task type");
    assert.equal(value(text, 'task_update_error_total{taskType="a",exception="ConductorError"}'), 1);
    assert.equal(value(text, 'idflow_results_dropped_total{taskType="a"}'), 1);
    assert.equal(value(text, 'task_update_time_seconds_count{taskType="a",status="SUCCESS"}'), 1, "attempts without a duration are not timed");
    assert.equal(value(text, 'task_update_time_seconds_bucket{le="0.025",taskType="a",status="SUCCESS"}'), 1);
    assert.equal(value(text, 'task_update_time_seconds_count{taskType="a",status="FAILURE"}'), 1);
    assert.equal(value(text, 'task_update_time_seconds_sum{taskType="a",status="FAILURE"}'), 3);
    assert.equal(value(text, "idflow_result_backlog"), 0);
    assert.equal(value(text, "idflow_results_spooled_total"), 4);
    assert.equal(value(text, 'worker_restart_total{taskType="b"}'), 1);

    assert.equal(value(text, 'active_workers{taskType="a"}'), 1);
    assert.equal(value(text, 'idflow_worker_concurrency{taskType="a"}'), 3);
    assert.equal(value(text, 'idflow_worker_free_slots{taskType="a"}'), 2);
    assert.equal(value(text, 'idflow_worker_free_slots{taskType="b"}'), 1);
    snap = { workers: [worker("a", 3, 3)] };
    const later = await m.text();
    assert.equal(value(later, 'idflow_worker_free_slots{taskType="a"}'), 0, "gauges read the live state at each scrape");
    assert.equal(value(later, 'idflow_worker_free_slots{taskType="b"}'), undefined, "a worker that is gone leaves no stale gauge");
    assert.equal(value(text, "process_cpu_user_seconds_total"), undefined, "no process metrics when switched off");
    m.close();
  });

  it("includes Node's process metrics by default", async () => {
    const m = new WorkerMetrics({ events: new RuntimeEvents() });
    const text = await m.text();
    assert.ok(value(text, "process_cpu_user_seconds_total")! >= 0, text.slice(0, 300));
    assert.ok(text.includes("nodejs_eventloop_lag_seconds"));
    m.close();
  });
});

describe("health from runtime events", () => {
  const setup = (opts: { unreachableAfterMs?: number } = {}) => {
    const events = new RuntimeEvents();
    let now = 1_000_000;
    let snap: WorkerSnapshot | undefined;
    const h = new WorkerHealth({ events, snapshot: () => snap, now: () => now, ...opts });
    return {
      events,
      h,
      tick: (ms: number) => (now += ms),
      setSnap: (s: WorkerSnapshot | undefined) => (snap = s),
    };
  };

  it("ready once every worker polled successfully; not while Conductor fails past the bound; back after a success", () => {
    const { events, h, tick, setSnap } = setup({ unreachableAfterMs: 5000 });
    assert.deepEqual(h.readiness().reasons, ["the workers have not started yet"]);
    setSnap({ workers: [worker("a"), worker("b")] });
    events.emit("poll", { worker: "a", outcome: "empty", count: 0, durationMs: 1 });
    let r = h.readiness();
    assert.equal(r.ready, false);
    assert.deepEqual(r.reasons, ["b has not polled Conductor successfully yet"]);
    events.emit("poll", { worker: "b", outcome: "error", count: 0, durationMs: 1, error: "ECONNREFUSED" });
    assert.equal(h.readiness().ready, false, "an error is not a successful poll");
    events.emit("poll", { worker: "b", outcome: "tasks", count: 1, durationMs: 1 });
    assert.equal(h.readiness().ready, true);

    events.emit("poll", { worker: "a", outcome: "error", count: 0, durationMs: 1, error: "connect ECONNREFUSED" });
    tick(4000);
    events.emit("delivery:attempt", { taskId: "x", ok: false, error: "socket hang up" });
    assert.equal(h.readiness().ready, true, "within the bound");
    tick(1500);
    r = h.readiness();
    assert.equal(r.ready, false);
    assert.equal(r.conductor.ok, false);
    assert.equal(r.conductor.failingForMs, 5500);
    assert.match(r.reasons[0], /Conductor has been failing for 6 s \(bound 5 s\): socket hang up/);
    events.emit("delivery:attempt", { taskId: "x", ok: false, httpStatus: 400, error: "bad request" });
    assert.equal(h.readiness().conductor.lastError, "socket hang up", "a 4xx answer is not unreachability");
    events.emit("poll", { worker: "b", outcome: "empty", count: 0, durationMs: 1 });
    assert.equal(h.readiness().ready, true, "a success ends the outage");

    events.emit("draining", { reason: "SIGTERM" });
    r = h.readiness();
    assert.equal(r.ready, false);
    assert.equal(r.draining, true);
    assert.deepEqual(r.reasons, ["draining (SIGTERM): no new tasks are taken"]);
    events.emit("stopped", { reason: "SIGTERM", exitCode: 0 });
    assert.deepEqual(h.readiness().reasons, ["the workers have stopped"]);
    h.close();
  });

  it("live until a loop is restarted by the watchdog again and again without a poll, or is silent with a free slot", () => {
    const { events, h, tick, setSnap } = setup();
    setSnap({ workers: [worker("a"), worker("b", 2, 2)] });
    events.emit("poll", { worker: "a", outcome: "empty", count: 0, durationMs: 1 });
    events.emit("poll", { worker: "b", outcome: "tasks", count: 2, durationMs: 1 });
    assert.equal(h.liveness().live, true);
    for (let i = 0; i < 2; i++) events.emit("watchdog:restart", { worker: "a" });
    assert.equal(h.liveness().live, true, "two restarts: the watchdog is still handling it");
    events.emit("poll", { worker: "a", outcome: "empty", count: 0, durationMs: 1 });
    for (let i = 0; i < 2; i++) events.emit("watchdog:restart", { worker: "a" });
    assert.equal(h.liveness().live, true, "a poll in between resets the count");
    events.emit("watchdog:restart", { worker: "a" });
    let l = h.liveness();
    assert.equal(l.live, false);
    assert.deepEqual(l.reasons, ["poll loop of a is stuck: the watchdog restarted it 3 times and no poll finished"]);
    events.emit("poll", { worker: "a", outcome: "empty", count: 0, durationMs: 1 });
    assert.equal(h.liveness().live, true);

    tick(61_000);
    l = h.liveness();
    assert.equal(l.live, false, "a has a free slot and has been silent past 100 + 100 ms + 60 s");
    assert.match(l.reasons[0], /poll loop of a has not polled for 61 s with a free slot/);
    assert.equal(l.workers.find((w) => w.worker === "b")?.ok, true, "b is busy: no poll expected");
    events.emit("draining", { reason: "stop" });
    assert.equal(h.liveness().live, true, "a draining run does not poll by design");
    assert.ok(l.eventLoop.delayMaxMs >= 0);
    h.close();
  });

  it("reports a blocked event loop's delay, sampled at LOOP_RESOLUTION_MS (a few wake-ups a second, not fifty)", async () => {
    assert.ok(
      LOOP_RESOLUTION_MS >= 100,
      `${LOOP_RESOLUTION_MS} ms: the sampling timer wakes the process ${Math.round(1000 / LOOP_RESOLUTION_MS)} times a second`,
    );
    const h = new WorkerHealth({ events: new RuntimeEvents() });
    try {
      await new Promise((r) => setTimeout(r, LOOP_RESOLUTION_MS * 2));
      const quiet = h.liveness().eventLoop;
      assert.ok(quiet.delayMaxMs < 200, `an idle loop: ${JSON.stringify(quiet)}`);
      // Node's histogram does not count the first period after a reset (each probe resets it).
      await new Promise((r) => setTimeout(r, LOOP_RESOLUTION_MS * 2));
      const until = performance.now() + 700;
      while (performance.now() < until); // a task that hogs the event loop
      await new Promise((r) => setTimeout(r, LOOP_RESOLUTION_MS * 2));
      const blocked = h.liveness().eventLoop;
      assert.ok(blocked.delayMaxMs >= 400, `a loop blocked for 700 ms: ${JSON.stringify(blocked)}`);
    } finally {
      h.close();
    }
  });
});

describe("the observation endpoint", () => {
  it("serves /metrics and the health endpoints with JSON reasons; 404 elsewhere; a taken port is an error naming the flag", async () => {
    const events = new RuntimeEvents();
    const srv = await ObserveServer.start({ events, port: 0, defaultMetrics: false });
    try {
      assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      let res = await fetch(`${srv.url}/health/ready`);
      assert.equal(res.status, 503);
      assert.deepEqual(((await res.json()) as { reasons: string[] }).reasons, ["the workers have not started yet"]);
      srv.attach({
        workers: [
          { name: "a", workerId: "w", concurrency: 1, pollIntervalMs: 100, pollTimeoutMs: 100, execTimeoutSeconds: 0, leaseExtend: false, isolation: "none" },
        ],
        stats: () => ({ workers: {}, delivery: {} as never, watchdogRestarts: 0 }),
      });
      events.emit("poll", { worker: "a", outcome: "empty", count: 0, durationMs: 3 });
      res = await fetch(`${srv.url}/health/ready`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { status: string }).status, "UP");
      res = await fetch(`${srv.url}/health/live`);
      assert.equal(res.status, 200);
      res = await fetch(`${srv.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
      assert.equal(value(await res.text(), 'task_poll_total{taskType="a"}'), 1);
      res = await fetch(`${srv.url}/nope`);
      assert.equal(res.status, 404);
      await assert.rejects(ObserveServer.start({ events, port: Number(new URL(srv.url).port) }), (e: Error & { exitCode?: number }) => {
        assert.match(e.message, /port \d+ on 127\.0\.0\.1 is already in use: pick another --metrics-port/);
        assert.equal(e.exitCode, 2);
        return true;
      });
    } finally {
      await srv.close();
    }
  });
});
