/**
 * Exec workers' overhead: the same no-op task served by a TypeScript function, by a Python
 * program run once per task (`idflow worker exec`), and by a persistent Python program (JSON
 * lines, `--persistent`), in one run against the real Conductor, at concurrency 1 and 4.
 * Workflows are queued first, then the worker runs in-process until every task is completed.
 * CPU counts this process and its children (the Python programs: /proc/self/stat cutime and
 * cstime, read after the run has stopped and reaped them). Ratios are against the TypeScript
 * worker at the same concurrency. Uses CONDUCTOR_SERVER_URL when given, else starts a private
 * server. Writes bench/results/exec.json. BENCH_EXEC_N / BENCH_EXEC_N_PROCESS set the counts.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../src/conductor/client.ts";
import { execRegistration } from "../src/exec/exec-registration.ts";
import { EXEC_DEFAULTS } from "../src/exec/spec.ts";
import { silentLogger } from "../src/log.ts";
import { runWorkers } from "../src/runtime/handler.ts";
import { startLocalServer, stopLocalServer } from "../src/server/index.ts";
import type { Registration } from "../src/task/registration.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_EXEC_N ?? 300);
const N_PROCESS = Number(process.env.BENCH_EXEC_N_PROCESS ?? 150);
const WARMUP = Number(process.env.BENCH_EXEC_WARMUP ?? 500);
type Kind = "typescript" | "exec process" | "exec persistent";
const KINDS: Kind[] = ["typescript", "exec process", "exec persistent"];

function registration(kind: Kind, name: string, concurrency: number): Registration {
  const options = { name, concurrency };
  if (kind === "typescript") return { name, options, fn: async () => ({}), sourceFile: fileURLToPath(import.meta.url) };
  const program = kind === "exec process" ? "noop.py" : "noop_lines.py";
  return execRegistration({
    options,
    spec: {
      command: "python3",
      args: [program],
      cwd: path.join(here, "exec"),
      mode: kind === "exec process" ? "process" : "lines",
      killGraceMs: EXEC_DEFAULTS.killGraceMs,
      maxOutputBytes: EXEC_DEFAULTS.maxOutputBytes,
    },
    sourceFile: path.join(here, "exec", program),
    logger: silentLogger(),
  });
}

/** CPU ms of reaped children so far (utime + stime of waited-for children). */
function childrenCpuMs(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

let serverDir: string | undefined;
let url = process.env.CONDUCTOR_SERVER_URL;
if (!url) {
  serverDir = mkdtempSync(path.join(os.tmpdir(), "idflow-bench-"));
  console.error("starting a private Conductor for the benchmark...");
  const r = await startLocalServer({ stateDir: serverDir, port: 0, jar: process.env.IDFLOW_CONDUCTOR_JAR });
  url = r.state.url;
}
const client = new ConductorClient({ serverUrl: url });
const rows: Array<Record<string, number | string>> = [];

async function measure(kind: Kind, concurrency: number, n: number) {
  const name = `bench_exec_${kind.replace(/\W/g, "")}_${concurrency}_${Date.now().toString(36)}`;
  await client.registerTaskDefs([{ name, timeoutSeconds: 0, responseTimeoutSeconds: 60, retryCount: 0, ownerEmail: "bench@idflow.dev" }]);
  await client.upsertWorkflowDefs([
    { name: `${name}_wf`, version: 1, schemaVersion: 2, ownerEmail: "bench@idflow.dev", tasks: [{ name, taskReferenceName: "t", type: "SIMPLE" }] },
  ]);
  for (let i = 0; i < n; i++) await client.startWorkflow(`${name}_wf`, {});
  const queued = await client.queueSize(name);
  const cpu0 = process.cpuUsage();
  const child0 = childrenCpuMs();
  const t0 = performance.now();
  const run = await runWorkers({
    client,
    registrations: [registration(kind, name, concurrency)],
    stateDir: mkdtempSync(path.join(os.tmpdir(), "idflow-bench-state-")),
    handleSignals: false,
  });
  while (run.stats().workers[name].completed + run.stats().workers[name].failed < queued) await new Promise((r) => setTimeout(r, 10));
  const ms = performance.now() - t0;
  const s = run.stats().workers[name];
  await run.stop(); // reaps the persistent processes, so their CPU is counted
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 + (childrenCpuMs() - child0);
  return { kind, concurrency, tasks: queued, failed: s.failed, msPerTask: ms / queued, tasksPerSecond: (queued / ms) * 1000, cpuMsPerTask: cpuMs / queued };
}

try {
  console.error(`warm-up: ${WARMUP} TypeScript tasks (JIT of the server)...`);
  await measure("typescript", 4, WARMUP);
  for (const concurrency of [1, 4]) {
    const base = { msPerTask: 0, cpuMsPerTask: 0 };
    for (const kind of KINDS) {
      const r = await measure(kind, concurrency, kind === "exec process" ? N_PROCESS : N);
      if (kind === "typescript") Object.assign(base, r);
      const row = {
        kind,
        concurrency,
        tasks: r.tasks,
        failed: r.failed,
        msPerTask: +r.msPerTask.toFixed(2),
        tasksPerSecond: +r.tasksPerSecond.toFixed(1),
        cpuMsPerTask: +r.cpuMsPerTask.toFixed(2),
        timeVsTypescript: +(r.msPerTask / base.msPerTask).toFixed(2),
        cpuVsTypescript: +(r.cpuMsPerTask / base.cpuMsPerTask).toFixed(2),
      };
      rows.push(row);
      console.error(JSON.stringify(row));
    }
  }
} finally {
  client.close();
  if (serverDir) await stopLocalServer({ stateDir: serverDir }).catch(() => {});
}
console.log("\nworker            concurrency  tasks  ms/task  tasks/s  CPU ms/task  time vs TS  CPU vs TS");
for (const r of rows) {
  console.log(
    `${String(r.kind).padEnd(16)}  ${String(r.concurrency).padEnd(11)}  ${String(r.tasks).padEnd(5)}  ${String(r.msPerTask).padEnd(7)}  ${String(r.tasksPerSecond).padEnd(7)}  ${String(r.cpuMsPerTask).padEnd(11)}  ${String(r.timeVsTypescript).padEnd(10)}  ${r.cpuVsTypescript}`,
  );
}
mkdirSync(path.join(here, "results"), { recursive: true });
writeFileSync(
  path.join(here, "results", "exec.json"),
  `${JSON.stringify({ date: new Date().toISOString(), server: url, node: process.version, python: "python3", cpus: os.cpus().length, loadavg: os.loadavg(), rows }, null, 2)}\n`,
);
