/**
 * `npm run bench -- overhead [--quick] [...]`: a worker's own CPU per task, without a server's
 * noise. The peers benchmark (bench/peers.bench.ts) measures every contender on a real Conductor,
 * whose JVM shares the cores and varies run to run; this one serves the same contenders' task
 * endpoints from an HTTP double in this process, which answers at once (or after `--delay` ms, as
 * a server would), so that two versions of the hot path can be told apart. It says nothing about
 * Conductor (tasks/s here are the double's and the worker's, not a server's).
 *
 *   --quick                 smoke mode: 300 tasks, one run, idflow and the two loops
 *   --contenders a,b        ids from bench/peers/contenders.ts (default idflow,loop-v2,loop-post;
 *                           with BENCH_IDFLOW_OTHER set, idflow-other too)
 *   --concurrency 1,10,50   levels (default 1)
 *   --n N                   tasks per run (default 4000)      --runs N   runs per cell (default 3)
 *   --delay MS              the double answers each call after MS ms (default 4: about what the local
 *                           Conductor takes, so the worker sleeps and wakes once per task as it does
 *                           there; 0 = at once, the worker never waits)
 *   --output-kb N           each task returns about N KB of JSON (default 0: {}); idflow and the
 *                           loops only (BENCH_OUTPUT_KB)
 *   --input-kb N            each task the double hands out carries about N KB of input (default 0)
 *   --pin CPU               run the worker on this CPU (taskset) and the double on the others
 *   --gc                    every Node contender under V8's --trace-gc-nvp (added to BENCH_NODE_FLAGS;
 *                           the trace goes to BENCH_STDOUT when set, else to a temporary file),
 *                           read back into figures over the second half (peers/gc-trace.ts): heap
 *                           KB allocated per task, young collections per 1000 tasks, full
 *                           collections, KB promoted per task and the main thread's GC pause per task
 *   --out FILE              write the raw JSON there instead of bench/results/
 *
 * Figures per run: CPU ms per task (the worker's process tree, from /proc, from the first task
 * handed out to the last result taken), the same over the run's second half (without the
 * start-up's JIT compilation), context switches per task of the worker's threads, the main
 * thread's wake-ups per task over the second half (its voluntary context switches: each return from
 * epoll_wait after a wait, for an answer or a timer; a count the machine's load does not blur as it
 * does CPU time), tasks/s, the process tree's peak RSS while it ran (sampled every 50 ms: a figure
 * for large inputs or outputs);
 * and the requests the worker made, as the double counted them: polls per task, tasks per poll
 * (the batches' mean size), and the share of results sent by update-v2 (the rest by POST /tasks).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CONTENDERS, type Contender } from "./peers/contenders.ts";
import { benchCommand, checkContenderIds, wholeNumber } from "./peers/flags.ts";
import { gcFigures, parseGcTrace } from "./peers/gc-trace.ts";
import { mainThreadWakeups, RssSampler, treeContextSwitches, treeUsage } from "./peers/proc-tree.ts";
import { median } from "./peers/report.ts";
import { startTaskQueueDouble } from "../test/support/task-queue-double.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stderr.write(`[overhead] ${line}\n`);

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    contenders: { type: "string" },
    concurrency: { type: "string" },
    n: { type: "string" },
    runs: { type: "string" },
    delay: { type: "string" },
    pin: { type: "string" },
    gc: { type: "boolean", default: false },
    "output-kb": { type: "string" },
    "input-kb": { type: "string" },
    out: { type: "string" },
  },
  allowPositionals: false,
});
const quick = flags.quick!;
const int = (v: string | undefined, d: number, what: string) => wholeNumber(v, d, what, log);
const n = int(flags.n, quick ? 300 : 4000, "n");
const runs = int(flags.runs, quick ? 1 : 3, "runs");
const delayMs = int(flags.delay, 4, "delay");
const outputKb = int(flags["output-kb"], 0, "output-kb");
const inputKb = int(flags["input-kb"], 0, "input-kb");
const levels = (flags.concurrency ?? "1").split(",").map((s) => int(s, 1, "concurrency"));
const defaultIds = ["idflow", ...(process.env.BENCH_IDFLOW_OTHER ? ["idflow-other"] : []), "loop-v2", "loop-post"];
const ids = flags.contenders?.split(",") ?? defaultIds;
checkContenderIds(ids, log);
if (outputKb > 0) {
  const cannot = ids.filter((id) => !/^(idflow|loop-)/.test(id));
  if (cannot.length) {
    log(`--output-kb: ${cannot.join(", ")} return no output of that size; only idflow and the loops do`);
    process.exit(2);
  }
  process.env.BENCH_OUTPUT_KB = String(outputKb); // the contenders' environment is this process's (contenders.ts)
}
const contenders = ids.map((id) => CONTENDERS.find((c) => c.id === id)!);
for (const c of contenders) {
  const why = c.prepare(log);
  if (why) {
    log(`${c.id} cannot run here: ${why}`);
    process.exit(1);
  }
}

interface RunFigures {
  tasks: number;
  tasksPerSecond: number;
  cpuMsPerTask: number;
  steadyCpuMsPerTask: number;
  contextSwitchesPerTask: number;
  /** The main thread's wake-ups (voluntary context switches) per task over the second half. */
  wakeupsPerTask: number;
  pollsPerTask: number;
  tasksPerPoll: number;
  updateV2Share: number;
  peakRssMb: number;
  /** With --gc (null for a contender that is not Node, or too few collections to tell). */
  allocatedKbPerTask?: number | null;
  youngGcsPer1000Tasks?: number | null;
  fullGcs?: number | null;
  promotedKbPerTask?: number | null;
  gcPauseUsPerTask?: number | null;
}

/**
 * With --gc, every Node contender is started under --trace-gc-nvp with its stdout appended to one
 * file (contenders.ts reads both variables at spawn, as BENCH_OUTPUT_KB above); each trace line
 * names its process, so a run reads back its own worker's. BENCH_STDOUT, when set, is that file.
 */
const gcDir = flags.gc && !process.env.BENCH_STDOUT ? mkdtempSync(path.join(os.tmpdir(), "idflow-overhead-gc-")) : undefined;
const traceFile = flags.gc ? (process.env.BENCH_STDOUT ?? path.join(gcDir!, "trace.log")) : undefined;
if (traceFile) {
  process.env.BENCH_NODE_FLAGS = [process.env.BENCH_NODE_FLAGS, "--trace-gc-nvp"].filter(Boolean).join(" ");
  process.env.BENCH_STDOUT = traceFile;
}

/** One contender at one concurrency: the double hands out `n` tasks and times the worker. */
async function measure(c: Contender, concurrency: number): Promise<RunFigures> {
  const taskName = "bench_overhead_noop";
  let taken = 0;
  let pid = 0;
  const marks: Array<{ cpuMs: number; cs: number; wakeups: number; at: number }> = [];
  const mark = () => marks.push({ cpuMs: treeUsage(pid).cpuMs, cs: treeContextSwitches(pid), wakeups: mainThreadWakeups(pid), at: performance.now() });
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const took = () => {
    taken++;
    if (taken === Math.floor(n / 2)) mark();
    if (taken === n) {
      mark();
      done();
    }
  };
  const double = await startTaskQueueDouble({ taskName, total: n, delayMs, inputKb, onFirstTask: mark, onResult: took });
  const serverUrl = double.url;
  const spawnedAt = performance.now(); // about the isolate's start: its trace counts ms from there
  const child = c.start({ serverUrl, taskName, concurrency, pollIntervalMs: 100, pollTimeoutMs: 100 });
  pid = child.pid!;
  if (flags.pin !== undefined) {
    const { spawnSync } = await import("node:child_process");
    spawnSync("taskset", ["-a", "-p", "-c", flags.pin, String(pid)], { stdio: "ignore" });
  }
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr = (stderr + d).slice(-3000)));
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`${c.id} exited (${code}) before the end:\n${stderr}`))));
  let counted = double.requests;
  const rss = new RssSampler(pid, 50);
  try {
    await Promise.race([finished, exited]);
    counted = { ...double.requests }; // as the last result arrived (not the polls of the stop)
  } finally {
    rss.stop();
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGKILL");
    double.close();
  }
  const [start, mid, end] = marks;
  const half = n - Math.floor(n / 2);
  const r = counted;
  let gc: Partial<RunFigures> = {};
  if (traceFile) {
    const events = parseGcTrace(readFileSync(traceFile, "utf8"), pid);
    gc = events.length
      ? gcFigures(events, mid.at - spawnedAt, end.at - spawnedAt, half)
      : { allocatedKbPerTask: null, youngGcsPer1000Tasks: null, fullGcs: null, promotedKbPerTask: null, gcPauseUsPerTask: null };
  }
  return {
    tasks: n,
    tasksPerSecond: +((n * 1000) / (end.at - start.at)).toFixed(0),
    cpuMsPerTask: +((end.cpuMs - start.cpuMs) / n).toFixed(3),
    steadyCpuMsPerTask: +((end.cpuMs - mid.cpuMs) / half).toFixed(3),
    contextSwitchesPerTask: +((end.cs - start.cs) / n).toFixed(2),
    wakeupsPerTask: +((end.wakeups - mid.wakeups) / half).toFixed(3),
    pollsPerTask: +(r.polls / n).toFixed(3),
    tasksPerPoll: +(r.polledTasks / Math.max(1, r.polls - r.emptyPolls)).toFixed(1),
    updateV2Share: +(r.updateV2 / Math.max(1, r.updateV2 + r.post)).toFixed(2),
    peakRssMb: +(rss.peak / 2 ** 20).toFixed(1),
    ...gc,
  };
}

if (flags.pin !== undefined) {
  // The double runs on every other CPU.
  const others = os
    .cpus()
    .map((_, i) => i)
    .filter((i) => String(i) !== flags.pin);
  if (others.length) {
    const { spawnSync } = await import("node:child_process");
    spawnSync("taskset", ["-a", "-p", "-c", others.join(","), String(process.pid)], { stdio: "ignore" });
  }
}
log(
  `${runs} run(s) of ${n} tasks, concurrency ${levels.join(",")}, the double answers after ${delayMs} ms${inputKb ? `, inputs of about ${inputKb} KB` : ""}${outputKb ? `, outputs of about ${outputKb} KB` : ""}; load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
const cells: Array<{ contender: string; concurrency: number; runs: RunFigures[] }> = [];
for (let run = 1; run <= runs; run++) {
  for (const concurrency of levels) {
    // Every other run goes through the contenders backwards (a machine whose load changes favours no one).
    for (const c of run % 2 ? contenders : [...contenders].reverse()) {
      const f = await measure(c, concurrency);
      log(`run ${run} c=${concurrency} ${c.id}: ${JSON.stringify(f)}`);
      let cell = cells.find((x) => x.contender === c.id && x.concurrency === concurrency);
      if (!cell) cells.push((cell = { contender: c.id, concurrency, runs: [] }));
      cell.runs.push(f);
    }
  }
}

const cols: Array<[keyof RunFigures, string]> = [
  ["cpuMsPerTask", "CPU ms/task"],
  ["steadyCpuMsPerTask", "CPU ms/task, 2nd half"],
  ["contextSwitchesPerTask", "context switches/task"],
  ["wakeupsPerTask", "main-thread wake-ups/task, 2nd half"],
  ["tasksPerSecond", "tasks/s"],
  ["pollsPerTask", "polls/task"],
  ["tasksPerPoll", "tasks/poll"],
  ["updateV2Share", "update-v2 share"],
  ["peakRssMb", "peak RSS MB"],
  ...(flags.gc
    ? ([
        ["allocatedKbPerTask", "heap KB allocated/task, 2nd half"],
        ["youngGcsPer1000Tasks", "young GCs/1000 tasks"],
        ["fullGcs", "full GCs, 2nd half"],
        ["promotedKbPerTask", "KB promoted/task"],
        ["gcPauseUsPerTask", "GC pause µs/task"],
      ] as Array<[keyof RunFigures, string]>)
    : []),
];
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3));
const lines = [`| concurrency | contender | runs | ${cols.map((c) => c[1]).join(" | ")} |`, `|---|---|---|${cols.map(() => "---").join("|")}|`];
for (const cell of cells) {
  const base = cells.find((x) => x.concurrency === cell.concurrency && x.contender === "idflow");
  const figs = cols.map(([k]) => {
    const v = median(cell.runs.map((r) => r[k] as number));
    const b = base ? median(base.runs.map((r) => r[k] as number)) : NaN;
    if (!Number.isFinite(v)) return "-";
    return cell.contender === "idflow" || !b ? fmt(v) : `${fmt(v)} (${(v / b).toFixed(2)}×)`;
  });
  lines.push(`| ${cell.concurrency} | ${cell.contender} | ${cell.runs.length} | ${figs.join(" | ")} |`);
}
const result = {
  date: new Date().toISOString(),
  command: benchCommand("overhead"),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverageAtStart: os.loadavg() },
  settings: { n, runs, delayMs, levels, inputKb, outputKb, pin: flags.pin ?? null },
  cells,
};
const file = flags.out ? path.resolve(flags.out) : path.join(here, "results", `overhead-${result.date.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
if (gcDir) rmSync(gcDir, { recursive: true, force: true }); // every run's trace was read back
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\n${lines.join("\n")}\n`);
log(`raw figures: ${path.relative(process.cwd(), file)}`);
