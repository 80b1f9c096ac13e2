/**
 * `npm run bench -- peers [--quick] [...]`: idflow against the official SDKs and two hand-written
 * loops, side by side on one real Conductor (SQLite), each as its own process on identical work
 * (a no-op task in a one-task workflow; the same concurrency, poll interval, poll timeout and
 * batch size). See bench/peers/measure.ts for the shapes and figures. Writes
 * bench/results/peers-<server version>-<time>.json and prints Markdown tables (medians of the
 * runs, ratio to idflow in parentheses).
 *
 *   --quick                 smoke mode: every contender, concurrency 10, a few seconds each
 *   --runs N                runs per cell (default 4, so every other run in reverse order puts each contender
 *                           first and last alike: the server slows as its tables grow; quick 1; 0 with --long: only the long run)
 *   --concurrency 1,10,50   levels (default 1,10,50)
 *   --contenders a,b        subset (ids in bench/peers/contenders.ts), run in this order
 *   --n N                   drain size (default 2000)     --trickle N   trickle workflows (default 200)
 *   --long N                long-run size at concurrency 10 (default 20000; 0 = none)
 *   --server-warmup N       tasks run through the server first, half by each plain loop, not recorded (default
 *                           6000: with 1000 the first contender of a run met a JVM spending twice the CPU per task);
 *                           then, before each concurrency level of a run, an unrecorded lead-in drain by loop-v2
 *                           (0 = neither)
 *   --fresh-server each-run|once   each-run (default): every run (and the long run) gets a new private
 *                           server with an empty database, warmed as above; once: one server for all. The
 *                           server slows as its tables grow (up to 2x over the ~60,000 workflows of a full
 *                           run on one server), which spread a cell's runs and leaned on the order. With
 *                           each-run, a run whose server failed (5xx or no answer) is dropped and done again
 *                           on a new server (twice at most; listed under "redone" in the JSON)
 *   --warm-worker N         each recorded drain's worker first runs N tasks (its JIT warm, as in a worker that has
 *                           been up a while), is stopped (SIGSTOP) while the queue fills, and continued to drain it
 *                           (default 0: a new process drains, its start-up compilation inside the window)
 *   --warm-idle S           with --warm-worker: the warmed worker then runs idle for S seconds (polling an empty
 *                           queue) before it is stopped (default 10, quick 1: past V8's memory reducer, which runs 8 s after
 *                           a full collection; bench/peers/measure.ts drain() says why; 0 = stopped at once, as
 *                           before 2026-12-04)
 *   --require-all           exit 1 if any contender could not run
 *   --out FILE              write the raw JSON there instead of bench/results/
 * BENCH_SERVER_PID=<pid> (with CONDUCTOR_SERVER_URL) adds the server's CPU per task to the drain.
 * BENCH_CPU_PROF=<dir> makes every Node contender write a V8 CPU profile there (--cpu-prof), sampled
 * every BENCH_CPU_PROF_INTERVAL µs if set (V8's default: 1000).
 * BENCH_IDFLOW_OTHER=<root of another idflow checkout> adds the contender `idflow-other`: the
 * same worker run from that checkout (e.g. main before a change), for before/after figures.
 * CONDUCTOR_SERVER_URL uses that server; otherwise a private one is started
 * (IDFLOW_CONDUCTOR_JAR, or the pinned version; JAVA_HOME picks the JVM).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ConductorClient } from "../src/conductor/client.ts";
import { ConductorError } from "../src/conductor/errors.ts";
import { startLocalServer, stopLocalServer } from "../src/server/index.ts";
import { CONTENDERS, type Contender, type WorkerSpec } from "./peers/contenders.ts";
import { benchCommand, checkContenderIds, wholeNumber } from "./peers/flags.ts";
import { defineNoop, drain, startAndWarm, trickle, type WorkerProcess } from "./peers/measure.ts";
import { headToHead, markdown, type Cell } from "./peers/report.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stderr.write(`[peers] ${line}\n`);

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    concurrency: { type: "string" },
    contenders: { type: "string" },
    n: { type: "string" },
    trickle: { type: "string" },
    long: { type: "string" },
    "require-all": { type: "boolean", default: false },
    "server-warmup": { type: "string" },
    "fresh-server": { type: "string" },
    "warm-worker": { type: "string" },
    "warm-idle": { type: "string" },
    out: { type: "string" },
  },
  allowPositionals: false,
});
const quick = flags.quick!;
const num = (v: string | undefined, d: number, what: string) => wholeNumber(v, d, what, log);
const runs = num(flags.runs, quick ? 1 : 4, "runs");
const levels = (flags.concurrency ?? (quick ? "10" : "1,10,50")).split(",").map((s) => num(s, 1, "concurrency"));
const drainN = num(flags.n, quick ? 60 : 2000, "n");
const trickleN = num(flags.trickle, quick ? 20 : 200, "trickle");
const longN = num(flags.long, quick ? 0 : 20_000, "long");
const warmN = quick ? 10 : 200;
const warmWorkerN = num(flags["warm-worker"], 0, "warm-worker");
const warmIdleS = num(flags["warm-idle"], quick ? 1 : 10, "warm-idle");
const serverWarmN = num(flags["server-warmup"], 6000, "server-warmup");
const freshServer = flags["fresh-server"] ?? "each-run";
if (freshServer !== "each-run" && freshServer !== "once") {
  log(`--fresh-server ${freshServer}: use each-run or once`);
  process.exit(2);
}
const POLL_INTERVAL_MS = 100;
const POLL_TIMEOUT_MS = 100;
const TRICKLE_EVERY_MS = 50;
const wanted = flags.contenders?.split(",");
checkContenderIds(wanted, log);
// In the order given: runs alternate forwards and backwards, so with an odd number of runs only the
// middle contender is first and last equally often (put idflow there).
const contenders = wanted ? [...new Set(wanted)].map((id) => CONTENDERS.find((c) => c.id === id)!) : CONTENDERS;

// Each contender installs or explains itself before the server starts.
const ready: Contender[] = [];
const skipped: Record<string, string> = {};
for (const c of contenders) {
  const why = c.prepare(log);
  if (why) {
    skipped[c.id] = why;
    log(`SKIPPED ${c.id}: ${why}`);
  } else ready.push(c);
}
if (flags["require-all"] && Object.keys(skipped).length > 0) {
  log(`--require-all: ${Object.keys(skipped).length} contender(s) cannot run here`);
  process.exit(1);
}

const givenUrl = process.env.CONDUCTOR_SERVER_URL;
let serverDir: string | undefined;
let url = givenUrl;
// The JVM's pid, for the server's CPU per task: known when the bench starts it, else BENCH_SERVER_PID.
let serverPid = process.env.BENCH_SERVER_PID ? Number(process.env.BENCH_SERVER_PID) : undefined;
let client = undefined as unknown as ConductorClient;
let serversStarted = 0;

/** A new private server with an empty database (never with CONDUCTOR_SERVER_URL); stops the one before. */
async function newServer(): Promise<void> {
  await stopServer();
  serverDir = mkdtempSync(path.join(os.tmpdir(), "idflow-peers-server-"));
  log(`starting a private Conductor (SQLite, empty database) for the benchmark${serversStarted ? ` (server ${serversStarted + 1})` : ""}...`);
  const r = await startLocalServer({ stateDir: serverDir, port: 0, jar: process.env.IDFLOW_CONDUCTOR_JAR });
  serversStarted++;
  url = r.state.url;
  serverPid = r.state.pid;
  client = new ConductorClient({ serverUrl: url });
}

async function stopServer(): Promise<void> {
  client?.close();
  if (!serverDir) return;
  const dir = serverDir;
  serverDir = undefined;
  await stopLocalServer({ stateDir: dir }).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

if (url) client = new ConductorClient({ serverUrl: url });
else await newServer();
const serverVersion = (await client.serverVersion()) ?? "unknown";
const load = os.loadavg();
log(
  `Conductor ${serverVersion} at ${url}; load average ${load.map((l) => l.toFixed(2)).join(" ")}; ${runs} run(s), concurrency ${levels.join(",")}, drain ${drainN}${warmWorkerN ? ` (each by a worker warmed with ${warmWorkerN} tasks, then idle ${warmIdleS} s)` : ""}, trickle ${trickleN}, long ${longN}`,
);

const stamp = Date.now().toString(36);
const cells: Cell[] = [];
const cell = (shape: Cell["shape"], concurrency: number, contender: string) => {
  let c = cells.find((x) => x.shape === shape && x.concurrency === concurrency && x.contender === contender);
  if (!c) cells.push((c = { shape, concurrency, contender, runs: [] }));
  return c;
};
const failures: string[] = [];
/** Runs given up because their server failed (their figures dropped, the run done again on a new server). */
const redone: string[] = [];
/** Set when the server failed a session (5xx or no answer: a 3.32.3 SQLite server once failed every transaction from then on). */
let serverFailed = false;
let seq = 0;

/** One contender at one concurrency on a fresh task name: a drain (which starts the worker), then a trickle on the same worker. */
async function session(
  c: Contender,
  concurrency: number,
  shapes: { drain: number; trickle: number; shape?: "drain" | "long" },
  label: string,
  run?: number,
): Promise<void> {
  const taskName = `bp_${stamp}_${seq++}_${c.id.replace(/-/g, "_")}_${concurrency}`;
  const spec: WorkerSpec = { serverUrl: url!, taskName, concurrency, pollIntervalMs: POLL_INTERVAL_MS, pollTimeoutMs: POLL_TIMEOUT_MS };
  let w: WorkerProcess | undefined;
  try {
    const wf = await defineNoop(client, taskName);
    if (shapes.drain > 0) {
      // Recorded drains may start from a warm worker (--warm-worker); the server's warm-up and lead-ins never do.
      const warmUp = shapes.shape && warmWorkerN > 0 ? { tasks: warmWorkerN, idleMs: warmIdleS * 1000 } : { tasks: 0, idleMs: 0 };
      const d = await drain(client, c, spec, wf, shapes.drain, serverPid, warmUp);
      w = current = d.worker;
      if (shapes.shape) {
        const into = cell(shapes.shape, concurrency, c.id);
        const { cpuMsPerTaskByTenth, ...figures } = d.figures;
        into.runs.push(figures);
        (into.cpuMsPerTaskByTenth ??= []).push(cpuMsPerTaskByTenth);
        if (run !== undefined) (into.runIds ??= []).push(run);
      }
      log(`${label} c=${concurrency} ${c.id} ${shapes.shape ?? "warm-up"}: ${JSON.stringify(d.figures)}`);
    } else w = current = await startAndWarm(client, c, spec, wf, warmN);
    if (shapes.trickle > 0) {
      const t = await trickle(client, w, wf, shapes.trickle, TRICKLE_EVERY_MS);
      const into = cell("trickle", concurrency, c.id);
      into.runs.push({ ...t });
      if (run !== undefined) (into.runIds ??= []).push(run);
      log(`${label} c=${concurrency} ${c.id} trickle: ${JSON.stringify(t)}`);
    }
  } catch (err) {
    const msg = `${c.id} c=${concurrency}: ${(err as Error).message}`;
    failures.push(msg);
    if (err instanceof ConductorError && err.transient) serverFailed = true;
    log(`FAILED ${msg}`);
  } finally {
    current = undefined;
    await w?.stop();
  }
}

// Ctrl-C or SIGTERM: stop the contender under way (its whole tree) and the private server.
let current: WorkerProcess | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the contender and the server...`);
    void (async () => {
      await current?.stop().catch(() => {});
      await stopServer();
      process.exit(130);
    })();
  });
}

try {
  // A fresh JVM is slow for its first thousands of requests (JIT): warm the server first with
  // both plain loops (they need nothing installed), whether or not they are contenders, so both
  // ways of reporting a result are compiled: with batch polls + POST alone, the first update-v2
  // contender on a new server met 2x the server CPU per task of the last.
  const warmers = ["loop-post", "loop-v2"].map((id) => CONTENDERS.find((c) => c.id === id)!);
  const leadIn = warmers[1];
  const warm = async () => {
    if (quick || serverWarmN <= 0) return;
    log(`warming the server (${serverWarmN} tasks, not recorded)...`);
    for (const w of warmers) await session(w, 10, { drain: Math.ceil(serverWarmN / warmers.length), trickle: 0 }, "server warm-up");
  };
  // A new server (empty database) for each run, and for the long run; the first is already up.
  const fresh = !givenUrl && freshServer === "each-run";
  await warm();
  let redos = 0;
  for (let run = 1; run <= runs; run++) {
    if (fresh && run > 1) {
      await newServer();
      await warm();
    }
    const failuresBefore = failures.length;
    serverFailed = false;
    for (const concurrency of levels) {
      // Every other run goes through the contenders backwards, so a server that still warms up
      // (or a load that changes) does not always favour the same ones.
      const order = run % 2 === 1 ? ready : [...ready].reverse();
      // An unrecorded lead-in at this concurrency: on a new server, whoever went first still met
      // about 15% more server time per task than the next (2026-12-03), the JIT still compiling.
      if (!quick && serverWarmN > 0) await session(leadIn, concurrency, { drain: Math.min(drainN, 1000), trickle: 0 }, `run ${run} lead-in`);
      for (const c of order)
        await session(c, concurrency, { drain: Math.min(drainN, c.maxTasks ?? drainN), trickle: trickleN, shape: "drain" }, `run ${run}`, run);
    }
    // A server that failed (5xx or no answer) spoils the rest of its run: drop the run's figures and do it again on a new server, twice at most.
    if (serverFailed && fresh && redos < 2) {
      redos++;
      const why = failures.splice(failuresBefore);
      redone.push(`run ${run}: ${why.join("; ")}`);
      for (const c of cells) {
        const keep = c.runs.map((_, i) => c.runIds?.[i] !== run);
        c.runs = c.runs.filter((_, i) => keep[i]);
        c.runIds = c.runIds?.filter((_, i) => keep[i]);
      }
      log(`run ${run}: the server failed (${why.length} session(s)); its figures are dropped and the run starts again on a new server`);
      if (run === 1) {
        await newServer();
        await warm();
      }
      run--;
    }
  }
  if (longN > 0) {
    if (fresh && runs > 0) {
      await newServer();
      await warm();
    }
    for (const c of ready) {
      if (c.maxTasks !== undefined && c.maxTasks < longN) {
        log(`long run: ${c.id} skipped (at most ${c.maxTasks} tasks per drain)`);
        continue;
      }
      await session(c, 10, { drain: longN, trickle: 0, shape: "long" }, "long");
    }
  }
} finally {
  await stopServer();
}

const table = markdown(cells) + headToHead(cells);
const result = {
  date: new Date().toISOString(),
  command: benchCommand("peers"),
  server: { url, version: serverVersion },
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memGb: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    loadAverageAtStart: load,
    loadAverageAtEnd: os.loadavg(),
  },
  settings: {
    runs,
    levels,
    drainN,
    trickleN,
    trickleEveryMs: TRICKLE_EVERY_MS,
    longN,
    warmN,
    warmWorkerN,
    warmIdleS: warmWorkerN ? warmIdleS : undefined,
    serverWarmN: quick ? 0 : serverWarmN,
    freshServer: givenUrl ? "given server (CONDUCTOR_SERVER_URL)" : freshServer,
    serversStarted,
    pollIntervalMs: POLL_INTERVAL_MS,
    pollTimeoutMs: POLL_TIMEOUT_MS,
    batch: "the free slots (concurrency - in flight)",
  },
  contenders: Object.fromEntries(contenders.map((c) => [c.id, skipped[c.id] ? { describe: c.describe, skipped: skipped[c.id] } : { describe: c.describe }])),
  cells,
  failures,
  redone,
};
mkdirSync(flags.out ? path.dirname(path.resolve(flags.out)) : path.join(here, "results"), { recursive: true });
const file = flags.out
  ? path.resolve(flags.out)
  : path.join(here, "results", `peers-${serverVersion}-${result.date.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(table);
for (const [id, why] of Object.entries(skipped)) console.log(`skipped ${id}: ${why}`);
for (const r of redone) console.log(`redone on a new server: ${r}`);
for (const f of failures) console.log(`FAILED ${f}`);
log(
  `raw figures: ${path.relative(process.cwd(), file)}; load average now ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
process.exit(failures.length > 0 || (flags["require-all"] && Object.keys(skipped).length > 0) ? 1 : 0);
