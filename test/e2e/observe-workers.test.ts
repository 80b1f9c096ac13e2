/**
 * Metrics and health of real workers against the real Conductor: the counts match what the
 * server says ran (completed, failed, retried), readiness follows the first polls, an outage
 * (a proxy in front of the server that drops every request) and a drain; `worker start
 * --metrics-port` keeps answering 503 through a SIGTERM drain until the process exits.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { createWorkers } from "../../src/api/create-workers.ts";
import { ConductorClient } from "../../src/conductor/client.ts";
import { WorkerMetrics } from "../../src/observe/metrics.ts";
import { snapshotOf } from "../../src/observe/snapshot.ts";
import { workerTask } from "../../src/task/worker-task.ts";
import { ObserveServer } from "../../src/observe/server.ts";
import { RuntimeEvents } from "../../src/runtime/events.ts";
import { runWorkers } from "../../src/runtime/handler.ts";
import { TerminalError } from "../../src/task/errors.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";
import { HttpProxy } from "../support/http-proxy.ts";
import { defineTaskAndWorkflow, delay, reg, startMany, tempStateDir, until, waitAll } from "../fixtures/runtime/helpers.ts";
import { metricValue as value } from "../support/prometheus.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const client = testClient();
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  client.close();
});

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("worker metrics and health (real Conductor)", () => {
  it("/metrics counts what ran: completed, failed, terminal, retried attempts, deliveries", async () => {
    const name = uniqueName("obs_count");
    const wf = await defineTaskAndWorkflow(client, name, { retryCount: 1, retryDelaySeconds: 1 });
    const events = new RuntimeEvents();
    const srv = await ObserveServer.start({ events, port: 0, defaultMetrics: false });
    cleanup.push(() => srv.close());
    const run = await runWorkers({
      client,
      events,
      stateDir: tempStateDir(),
      handleSignals: false,
      registrations: [
        reg(
          name,
          async (input: { n: number }, ctx) => {
            if (input.n % 3 === 0 && ctx.retryCount === 0) throw new Error(`flaky ${input.n}`); // fails once, retried, completes
            if (input.n % 3 === 1) throw new TerminalError(`bad ${input.n}`); // fails, never retried
            return { n: input.n };
          },
          { concurrency: 3, pollIntervalMs: 50 },
        ),
      ],
    });
    cleanup.push(() => run.stop());
    srv.attach(run);
    const ids = await startMany(client, wf, 6);
    const done = await waitAll(client, ids, 60_000);
    await until(() => run.stats().delivery.backlog === 0 && run.stats().workers[name].inFlight === 0, 10_000, "every result delivered");

    // What the server says ran.
    const attempts = done.flatMap((w) => w.tasks ?? []);
    const count = (s: string) => attempts.filter((t) => t.status === s).length;
    assert.equal(attempts.length, 8, "6 first attempts + 2 retries");
    assert.equal(attempts.filter((t) => (t.retryCount ?? 0) > 0).length, 2);
    assert.equal(count("COMPLETED"), 4);
    assert.equal(count("FAILED"), 2);
    assert.equal(count("FAILED_WITH_TERMINAL_ERROR"), 2);

    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const v = (s: string) => value(text, s);
    assert.equal(v(`task_execution_started_total{taskType="${name}"}`), attempts.length, "every attempt, retries included, was received and started");
    assert.equal(v(`idflow_task_results_total{taskType="${name}",status="COMPLETED"}`), count("COMPLETED"));
    assert.equal(v(`idflow_task_results_total{taskType="${name}",status="FAILED"}`), count("FAILED"));
    assert.equal(v(`idflow_task_results_total{taskType="${name}",status="FAILED_WITH_TERMINAL_ERROR"}`), count("FAILED_WITH_TERMINAL_ERROR"));
    assert.equal(v(`task_execute_error_total{taskType="${name}",exception="Error"}`), count("FAILED"));
    assert.equal(v(`task_execute_error_total{taskType="${name}",exception="TerminalError"}`), count("FAILED_WITH_TERMINAL_ERROR"));
    assert.equal(v(`task_execute_time_seconds_count{taskType="${name}",status="SUCCESS"}`), count("COMPLETED"));
    assert.equal(v(`task_execute_time_seconds_count{taskType="${name}",status="FAILURE"}`), count("FAILED") + count("FAILED_WITH_TERMINAL_ERROR"));
    assert.equal(v(`idflow_task_queue_wait_seconds_count{taskType="${name}"}`), attempts.length, "every task carries its scheduledTime");
    assert.equal(v(`idflow_result_delivery_attempts_total{taskType="${name}",outcome="ok"}`), attempts.length);
    assert.equal(v(`idflow_result_delivery_attempts_total{taskType="${name}",outcome="error"}`), undefined);
    assert.equal(v(`task_update_time_seconds_count{taskType="${name}",status="SUCCESS"}`), attempts.length, "every update is timed");
    const polls = v(`task_poll_total{taskType="${name}"}`)!;
    assert.ok(polls >= 1);
    assert.equal(
      polls,
      (v(`idflow_task_poll_outcome_total{taskType="${name}",outcome="tasks"}`) ?? 0) +
        (v(`idflow_task_poll_outcome_total{taskType="${name}",outcome="empty"}`) ?? 0),
    );
    assert.equal(v(`active_workers{taskType="${name}"}`), 0);
    assert.equal(v(`idflow_worker_free_slots{taskType="${name}"}`), 3);
    assert.equal(v("idflow_result_backlog"), 0);
  });

  it("/health/ready: 503 before the first polls, 200 after, 503 while Conductor is unreachable past the bound and during a drain; back after the outage", async () => {
    const proxy = await HttpProxy.start(testServerUrl());
    cleanup.push(() => proxy.close());
    const viaProxy = new ConductorClient({ serverUrl: proxy.url });
    cleanup.push(async () => viaProxy.close());
    const name = uniqueName("obs_ready");
    const wf = await defineTaskAndWorkflow(client, name);
    const events = new RuntimeEvents();
    const srv = await ObserveServer.start({ events, port: 0, defaultMetrics: false, health: { unreachableAfterMs: 1500 } });
    cleanup.push(() => srv.close());
    const ready = () => getJson(`${srv.url}/health/ready`);

    let r = await ready();
    assert.equal(r.status, 503);
    assert.deepEqual(r.body.reasons, ["the workers have not started yet"]);

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const run = await runWorkers({
      client: viaProxy,
      events,
      stateDir: tempStateDir(),
      handleSignals: false,
      shutdownGraceMs: 20_000,
      backoff: { baseMs: 50, capMs: 200 },
      registrations: [
        reg(
          name,
          async () => {
            await gate;
            return { ok: true };
          },
          { pollIntervalMs: 50, pollTimeoutMs: 200 },
        ),
      ],
    });
    let stopped = false;
    cleanup.push(async () => {
      release();
      if (!stopped) await run.stop();
    });
    srv.attach(run);
    await until(async () => (await ready()).status === 200, 15_000, "ready after the first successful poll");
    r = await ready();
    assert.equal(r.body.status, "UP");
    assert.deepEqual(r.body.reasons, []);

    // Conductor goes away: not ready once the failures outlast the bound (1.5 s), with the reason.
    proxy.down = true;
    await until(async () => (await ready()).status === 503, 15_000, "not ready while Conductor is unreachable");
    r = await ready();
    assert.match((r.body.reasons as string[])[0], /^Conductor has been failing for \d+ s \(bound 2 s\)/);
    assert.equal((r.body.conductor as { ok: boolean }).ok, false);
    const live = await getJson(`${srv.url}/health/live`);
    assert.equal(live.status, 200, "an outage is not a reason to restart the worker");

    // It comes back: ready again.
    proxy.down = false;
    await until(async () => (await ready()).status === 200, 15_000, "ready again after the outage");

    // A drain: 503 while the in-flight task finishes.
    const [id] = await startMany(client, wf, 1);
    await until(() => run.stats().workers[name].inFlight === 1, 15_000, "the task to start");
    const stopping = run.stop("SIGTERM");
    r = await ready();
    assert.equal(r.status, 503);
    assert.equal(r.body.draining, true);
    assert.deepEqual(r.body.reasons, ["draining (SIGTERM): no new tasks are taken"]);
    release();
    await stopping;
    stopped = true;
    r = await ready();
    assert.equal(r.status, 503);
    assert.deepEqual(r.body.reasons, ["the workers have stopped"]);
    const [w] = await waitAll(client, [id], 30_000);
    assert.equal(w.status, "COMPLETED");
  });

  it("`worker start --metrics-port 0`: ready, then 503 through the SIGTERM drain until the process exits 0", async () => {
    const name = uniqueName("obs_cli");
    const wf = await defineTaskAndWorkflow(client, name, { responseTimeoutSeconds: 60 });
    const bin = path.resolve(here, "../../cli/bin.js");
    const project = path.resolve(here, "../fixtures/runtime/project");
    let out = "";
    let err = "";
    const child = spawn(
      process.execPath,
      [bin, "worker", "start", "--all", "--root", project, "--server-url", testServerUrl(), "--metrics-port", "0", "--json", "--log-format", "json"],
      {
        env: { ...process.env, RT_SLOW_TASK_NAME: name, IDFLOW_STATE_DIR: tempStateDir() },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    await until(() => out.includes("}\n"), 30_000, "worker start to print its JSON");
    const metricsUrl = (JSON.parse(out) as { metrics: string }).metrics;
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const base = metricsUrl.replace(/\/metrics$/, "");
    await until(async () => (await getJson(`${base}/health/ready`)).status === 200, 20_000, "ready");

    await startMany(client, wf, 1, { ms: 2500 });
    await until(async () => value(await (await fetch(metricsUrl)).text(), `active_workers{taskType="${name}"}`) === 1, 20_000, "the slow task to run");
    child.kill("SIGTERM");
    await until(async () => (await getJson(`${base}/health/ready`).catch(() => ({ status: 0, body: {} }))).status === 503, 5000, "503 during the drain");
    const r = await getJson(`${base}/health/ready`);
    assert.equal(r.body.draining, true, JSON.stringify(r.body));
    const text = await (await fetch(metricsUrl)).text();
    assert.equal(value(text, `active_workers{taskType="${name}"}`), 1, "the endpoint answers while the task finishes");
    assert.equal(await exit, 0, err);
    await assert.rejects(fetch(`${base}/health/ready`), "the endpoint is gone with the process");
    await delay(0);
  });

  it("createWorkers({ metricsPort }) serves the same endpoint, closed when the workers stop; WorkerMetrics mounts on the API's events", async () => {
    const name = uniqueName("obs_api");
    const wf = await defineTaskAndWorkflow(client, name);
    const fn = workerTask({ name, pollIntervalMs: 50 })(async (input: { n: number }) => ({ n: input.n }));
    const workers = await createWorkers({ tasks: [fn], server: { url: testServerUrl() }, metricsPort: 0, logger: false, stateDir: tempStateDir() });
    let stopped = false;
    cleanup.push(async () => {
      if (!stopped) await workers.stop();
    });
    // An app serving metrics itself: the exported classes on the API's events and state.
    const own = new WorkerMetrics({ events: workers.events, snapshot: () => snapshotOf(workers), defaultMetrics: false });
    assert.match(workers.metricsUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const base = workers.metricsUrl!.replace(/\/metrics$/, "");
    await until(async () => (await getJson(`${base}/health/ready`)).status === 200, 15_000, "ready");
    const ids = await startMany(client, wf, 2);
    await waitAll(client, ids, 30_000);
    await until(
      async () => value(await (await fetch(workers.metricsUrl!)).text(), `idflow_task_results_total{taskType="${name}",status="COMPLETED"}`) === 2,
      10_000,
      "two completions counted",
    );
    assert.equal(value(await own.text(), `idflow_task_results_total{taskType="${name}",status="COMPLETED"}`), 2);
    assert.equal(value(await own.text(), `idflow_worker_concurrency{taskType="${name}"}`), 1);
    own.close();
    await workers.stop();
    stopped = true;
    await assert.rejects(fetch(`${base}/health/ready`), "the endpoint closes with the workers");
  });
});
