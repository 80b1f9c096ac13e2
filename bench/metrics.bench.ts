/**
 * The cost of metrics and health per task, two ways:
 *  1. in isolation: the events one task produces (a poll, task:started, task:finished, a
 *     delivery attempt) emitted 200 000 times, with no listener and with WorkerMetrics +
 *     WorkerHealth listening: CPU microseconds per task (no server, little noise);
 *  2. end to end: a no-op task at concurrency 10 against the real Conductor, with and without
 *     the observation endpoint (scraped every second, as Prometheus would more slowly), rounds
 *     alternated: worker CPU ms per task and tasks/s (noisy: the server shares the cores).
 * Uses CONDUCTOR_SERVER_URL when given, else starts a private server. Writes
 * bench/results/metrics.json. BENCH_METRICS_N sets the end-to-end task count per round.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../src/conductor/client.ts";
import { WorkerHealth } from "../src/observe/health.ts";
import { WorkerMetrics } from "../src/observe/metrics.ts";
import { ObserveServer } from "../src/observe/server.ts";
import { RuntimeEvents } from "../src/runtime/events.ts";
import { runWorkers } from "../src/runtime/handler.ts";
import type { Registration } from "../src/task/registration.ts";
import { benchServer } from "./server.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- 1. in isolation
function emitTasks(events: RuntimeEvents, n: number): number {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const worker = i % 2 ? "bench_a" : "bench_b";
    const taskId = `t${i}`;
    events.emit("poll", { worker, outcome: "tasks", count: 1, durationMs: 3 });
    events.emit("task:started", { worker, taskId, workflowId: "w", chained: false, queueWaitMs: 12, inFlight: 1, concurrency: 10 });
    events.emit("task:finished", {
      worker,
      taskId,
      workflowId: "w",
      status: "COMPLETED",
      timedOut: false,
      cancelled: false,
      durationMs: 1.5,
      inFlight: 1,
      concurrency: 10,
    });
    events.emit("delivery:attempt", { taskId, ok: true });
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / n; // µs per task
}

const N_MICRO = 200_000;
const micro: Array<{ round: number; withoutUsPerTask: number; withUsPerTask: number }> = [];
for (let round = 1; round <= 3; round++) {
  const bare = emitTasks(new RuntimeEvents(), N_MICRO);
  const events = new RuntimeEvents();
  const metrics = new WorkerMetrics({ events, defaultMetrics: false });
  const health = new WorkerHealth({ events });
  const observed = emitTasks(events, N_MICRO);
  metrics.close();
  health.close();
  micro.push({ round, withoutUsPerTask: +bare.toFixed(3), withUsPerTask: +observed.toFixed(3) });
  console.error(JSON.stringify(micro[micro.length - 1]));
}

// ---------------------------------------------------------------- 2. end to end
const server = await benchServer();
const url = server.url;
const client = new ConductorClient({ serverUrl: url });
const N = Number(process.env.BENCH_METRICS_N ?? 1000);
const e2e: Array<{ round: string; metrics: boolean; tasks: number; tasksPerSecond: number; cpuMsPerTask: number }> = [];
try {
  const plan = [{ metrics: false, warmup: true }, { metrics: false }, { metrics: true }, { metrics: false }, { metrics: true }];
  for (const [i, step] of plan.entries()) {
    const name = `bench_metrics_${Date.now().toString(36)}_${i}`;
    await client.registerTaskDefs([{ name, timeoutSeconds: 0, responseTimeoutSeconds: 60, retryCount: 0, ownerEmail: "bench@idflow.dev" }]);
    await client.upsertWorkflowDefs([
      { name: `${name}_wf`, version: 1, schemaVersion: 2, ownerEmail: "bench@idflow.dev", tasks: [{ name, taskReferenceName: "t", type: "SIMPLE" }] },
    ]);
    await new Promise((r) => setTimeout(r, 500));
    console.error(`${step.warmup ? "warm-up" : step.metrics ? "with metrics" : "without"}: queueing ${N} workflows...`);
    for (let k = 0; k < N; k++) await client.startWorkflow(`${name}_wf`, {});
    const n = await client.queueSize(name);
    const reg: Registration = { name, options: { name, concurrency: 10 }, fn: async () => ({}), sourceFile: fileURLToPath(import.meta.url) };
    const events = new RuntimeEvents();
    const observer = step.metrics ? await ObserveServer.start({ events, port: 0 }) : undefined;
    let scrapes = 0;
    const scraper = observer
      ? setInterval(() => {
          void fetch(`${observer.url}/metrics`)
            .then((r) => r.text())
            .then(() => scrapes++);
          void fetch(`${observer.url}/health/ready`).then((r) => r.text());
        }, 1000)
      : undefined;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const run = await runWorkers({
      client,
      events,
      registrations: [reg],
      stateDir: mkdtempSync(path.join(os.tmpdir(), "idflow-bench-state-")),
      handleSignals: false,
    });
    observer?.attach(run);
    while (run.stats().workers[name].completed < n) await new Promise((r) => setTimeout(r, 20));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (scraper) clearInterval(scraper);
    await run.stop();
    await observer?.close();
    const row = {
      round: step.warmup ? "warm-up" : String(i),
      metrics: step.metrics,
      tasks: n,
      tasksPerSecond: +((n / ms) * 1000).toFixed(1),
      cpuMsPerTask: +((cpu.user + cpu.system) / 1000 / n).toFixed(3),
    };
    console.error(JSON.stringify({ ...row, scrapes }));
    if (!step.warmup) e2e.push(row);
  }
} finally {
  client.close();
  await server.stop();
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log("\nin isolation (events of one task, 200 000 tasks per round)");
console.log("round  without µs/task  with metrics+health µs/task");
for (const r of micro) console.log(`${String(r.round).padEnd(5)}  ${String(r.withoutUsPerTask).padEnd(15)}  ${r.withUsPerTask}`);
console.log(`\nend to end (no-op task, concurrency 10, ${N} tasks per round)`);
console.log("round  metrics  tasks/s  worker CPU ms/task");
for (const r of e2e) console.log(`${r.round.padEnd(5)}  ${String(r.metrics).padEnd(7)}  ${String(r.tasksPerSecond).padEnd(7)}  ${r.cpuMsPerTask}`);
const off = e2e.filter((r) => !r.metrics);
const on = e2e.filter((r) => r.metrics);
console.log(`mean CPU ms/task: without ${avg(off.map((r) => r.cpuMsPerTask)).toFixed(3)}, with ${avg(on.map((r) => r.cpuMsPerTask)).toFixed(3)}`);
mkdirSync(path.join(here, "results"), { recursive: true });
writeFileSync(
  path.join(here, "results", "metrics.json"),
  `${JSON.stringify({ date: new Date().toISOString(), server: url, node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), micro, e2e }, null, 2)}\n`,
);
