/**
 * Worker runtime benchmark: tasks per second and worker CPU time per task for a no-op task at
 * concurrency 1, 10 and 50 against the real Conductor. Uses CONDUCTOR_SERVER_URL when given,
 * else starts a private server (IDFLOW_CONDUCTOR_JAR or the resolved jar). Workflows are queued
 * first, then the workers run in-process until every task is completed; CPU is this process's
 * process.cpuUsage() over that window (so it includes the HTTP client, not the server).
 * Writes bench/results/runtime.json. BENCH_N_1 / BENCH_N / BENCH_WARMUP override the task counts, BENCH_LEVELS the concurrency levels (default 1,10,50).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../src/conductor/client.ts";
import { runWorkers } from "../src/runtime/handler.ts";
import type { Registration } from "../src/task/registration.ts";
import { benchServer } from "./server.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
// A freshly started JVM is slow for its first thousand requests (JIT): a warm-up round, not
// recorded, keeps that out of the first measured level.
// Each level runs with every spool policy in the same run (fdatasync before sending, the
// default background fdatasync, no sync, no spool at all as the baseline), so the cost of
// durability is compared under the same load.
type Spool = "always" | "background" | "never" | "off";
const levels: Array<{ concurrency: number; n: number; warmup?: boolean; spool: Spool }> = [
  { concurrency: 10, n: Number(process.env.BENCH_WARMUP ?? 1000), warmup: true, spool: "background" },
  ...(process.env.BENCH_LEVELS ?? "1,10,50")
    .split(",")
    .map(Number)
    .flatMap((concurrency) =>
      (["always", "background", "never", "off"] as const).map((spool) => ({
        concurrency,
        spool,
        n: concurrency === 1 ? Number(process.env.BENCH_N_1 ?? 300) : Number(process.env.BENCH_N ?? 2000),
      })),
    ),
];

const server = await benchServer();
const url = server.url;
const client = new ConductorClient({ serverUrl: url });
const rows: Array<Record<string, number | string>> = [];
try {
  for (const level of levels) {
    const concurrency = level.concurrency;
    let n = level.n;
    const name = `bench_noop_${Date.now().toString(36)}_${concurrency}`;
    await client.registerTaskDefs([{ name, timeoutSeconds: 0, responseTimeoutSeconds: 60, retryCount: 0, ownerEmail: "bench@idflow.dev" }]);
    await client.upsertWorkflowDefs([
      { name: `${name}_wf`, version: 1, schemaVersion: 2, ownerEmail: "bench@idflow.dev", tasks: [{ name, taskReferenceName: "t", type: "SIMPLE" }] },
    ]);
    await new Promise((r) => setTimeout(r, 500));
    console.error(`c=${concurrency}: queueing ${n} workflows...`);
    for (let i = 0; i < n; i++) await client.startWorkflow(`${name}_wf`, {});
    const queued = await client.queueSize(name);
    if (queued !== n) console.error(`  (${n - queued} workflows failed to schedule on the server; measuring ${queued} tasks)`);
    n = queued;
    const reg: Registration = { name, options: { name, concurrency }, fn: async () => ({}), sourceFile: fileURLToPath(import.meta.url) };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const run = await runWorkers({
      client,
      registrations: [reg],
      stateDir: mkdtempSync(path.join(os.tmpdir(), "idflow-bench-state-")),
      handleSignals: false,
      spoolSync: level.spool === "off" ? undefined : level.spool,
      spoolOff: level.spool === "off",
    });
    for (let last = Date.now(); run.stats().workers[name].completed < n; ) {
      await new Promise((r) => setTimeout(r, 20));
      if (Date.now() - last > 5000) {
        last = Date.now();
        console.error(JSON.stringify(run.stats()));
      }
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const s = run.stats().workers[name];
    await run.stop();
    const row = {
      concurrency,
      spool: level.spool,
      tasks: n,
      seconds: +(ms / 1000).toFixed(2),
      tasksPerSecond: +((n / ms) * 1000).toFixed(1),
      cpuMsPerTask: +((cpu.user + cpu.system) / 1000 / n).toFixed(3),
      polls: s.polls,
      chainedByUpdateV2: s.chained,
    };
    if (level.warmup) {
      console.error(`warm-up (not recorded): ${JSON.stringify(row)}`);
      continue;
    }
    rows.push(row);
    console.error(JSON.stringify(row));
  }
} finally {
  client.close();
  await server.stop();
}
console.log("\nconcurrency  spool       tasks  seconds  tasks/s  worker CPU ms/task  polls  via update-v2");
for (const r of rows)
  console.log(
    `${String(r.concurrency).padEnd(11)}  ${String(r.spool).padEnd(10)}  ${String(r.tasks).padEnd(5)}  ${String(r.seconds).padEnd(7)}  ${String(r.tasksPerSecond).padEnd(7)}  ${String(r.cpuMsPerTask).padEnd(18)}  ${String(r.polls).padEnd(5)}  ${r.chainedByUpdateV2}`,
  );
mkdirSync(path.join(here, "results"), { recursive: true });
writeFileSync(
  path.join(here, "results", "runtime.json"),
  `${JSON.stringify({ date: new Date().toISOString(), server: url, node: process.version, cpus: os.cpus().length, rows }, null, 2)}\n`,
);
