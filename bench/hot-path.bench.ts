/**
 * `npm run bench -- hot-path [--quick] [...]`: the JavaScript a worker runs per task, without HTTP.
 * The overhead benchmark (overhead.bench.ts) measures whole workers against an HTTP double, where
 * the sockets, undici and the machine's noise (a run's spread is ±20%) hide a change of 1 µs per
 * task. Here every contender sends its calls to the same server in memory, which answers each on
 * the next event-loop turn (as an I/O callback would) and does nothing else: what is measured is
 * the runtime's own per-task work (the poll loop, the executor, the journal, delivery, the
 * client), to ±2%.
 * It says nothing about HTTP or the server (the overhead and peers benchmarks do).
 *
 *   --quick               smoke mode: 20,000 tasks, one run
 *   --contenders a,b      default idflow,idflow-spool-off,loop-durable,loop
 *   --concurrency N       slots (default 50)
 *   --n N                 tasks per run (default 300,000)    --runs N   runs per contender (default 5)
 *   --out FILE            write the raw JSON there instead of bench/results/
 *
 * Contenders, each in a fresh process per run:
 *   idflow            runWorkers (src/runtime/handler.ts) as `worker start` runs it: the spool on,
 *                     the task context, delivery with its checks; a no-op `async () => ({})` task
 *   idflow-spool-off  the same with `spoolOff` (results not crash-safe: a baseline only)
 *   loop-durable      a minimal loop with idflow's two guarantees in their simplest form: each
 *                     result written to a journal file (one write per batch, done marks riding
 *                     along) before it is sent, and the task run in an AsyncLocalStorage context
 *   loop              the minimal loop: batch poll for the free slots, run, JSON.stringify, send
 * Figure: CPU µs per task (process.cpuUsage: every thread of the process, the GC's included) over
 * the last 80% of the tasks, and its ratio to idflow's.
 */
import { spawnSync } from "node:child_process";
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkContenderIds, wholeNumber } from "./peers/flags.ts";
import { median } from "./peers/report.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stderr.write(`[hot-path] ${line}\n`);
const CONTENDER_IDS = ["idflow", "idflow-spool-off", "loop-durable", "loop"] as const;
type ContenderId = (typeof CONTENDER_IDS)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    contenders: { type: "string" },
    concurrency: { type: "string" },
    n: { type: "string" },
    runs: { type: "string" },
    out: { type: "string" },
    child: { type: "string" },
  },
  allowPositionals: false,
});
const int = (v: string | undefined, d: number, what: string) => wholeNumber(v, d, what, log);
const n = int(flags.n, flags.quick ? 20_000 : 300_000, "n");
const concurrency = int(flags.concurrency, 50, "concurrency");

// ------------------------------------------------------------------ one run (a child process)

interface Task {
  taskId: string;
  workflowInstanceId: string;
  inputData: Record<string, unknown>;
}

type Handler = {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(status: number, headers: unknown, resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: unknown): void;
  onError(err: Error): void;
};

/**
 * The server in memory, as an undici dispatcher: hands out `total` tasks and takes their results,
 * each call answered on the next event-loop turn with the bytes Conductor would send (a poll's
 * tasks as JSON, a POST /tasks's task id as text, update-v2's next task or 204). Every contender
 * sends its calls here: idflow through its own ConductorClient (its pool swapped for this), the
 * loops through undici's dispatch callbacks as in bench/peers/workers/loop-worker.mjs.
 */
function memoryServer(total: number, onResult: () => void) {
  let handed = 0;
  // A task as a poll's JSON holds it, with the fields Conductor sends.
  const task = (i: number) =>
    `{"taskType":"hot_path_noop","status":"IN_PROGRESS","inputData":{},"referenceTaskName":"hot_path_noop_ref","retryCount":0,"seq":1,"pollCount":1,"taskDefName":"hot_path_noop","scheduledTime":${Date.now()},"startTime":${Date.now()},"callbackAfterSeconds":0,"responseTimeoutSeconds":3600,"workflowInstanceId":"w-${i}","workflowType":"hot_path","taskId":"t-${i}"}`;
  const answer = (handler: Handler, status: number, body: string) =>
    setImmediate(() => {
      handler.onConnect(() => {});
      handler.onHeaders(status, [], () => {}, "");
      if (body) handler.onData(Buffer.from(body));
      handler.onComplete([]);
    });
  return {
    remaining: () => total - handed,
    dispatch(o: { method: string; path: string; body?: string }, handler: Handler): boolean {
      if (o.method === "GET" && o.path.includes("/tasks/poll/batch/")) {
        const count = Number(/[?&]count=(\d+)/.exec(o.path)?.[1] ?? 1);
        const tasks: string[] = [];
        while (tasks.length < count && handed < total) tasks.push(task(handed++));
        answer(handler, 200, `[${tasks.join(",")}]`);
      } else if (o.method === "POST" && o.path.endsWith("/tasks")) {
        onResult();
        answer(handler, 200, /"taskId":"([^"]*)"/.exec(o.body ?? "")?.[1] ?? "");
      } else if (o.method === "POST" && o.path.endsWith("/tasks/update-v2")) {
        onResult();
        if (handed < total) answer(handler, 200, task(handed++));
        else answer(handler, 204, "");
      } else answer(handler, 404, "");
      return true;
    },
    // ConductorClient.close() destroys its pool.
    destroy: () => Promise.resolve(),
  };
}
type MemoryServer = ReturnType<typeof memoryServer>;

/** The loops' HTTP call: undici's dispatch callbacks, as loop-worker.mjs's BENCH_HTTP=undici. */
function call(server: MemoryServer, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    server.dispatch(
      { method, path: `/api/${path}`, body },
      {
        onConnect() {},
        onHeaders(s) {
          status = s;
          return true;
        },
        onData(c) {
          chunks.push(c);
          return true;
        },
        onComplete() {
          const text = chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8");
          if (status >= 400) reject(new Error(`${method} ${path}: ${status}`));
          else resolve({ status, text });
        },
        onError: reject,
      },
    );
  });
}

const noop = async () => ({});

async function child(id: ContenderId): Promise<void> {
  let results = 0;
  const from = Math.floor(n / 5);
  let startCpu = 0;
  let done!: (cpu: number) => void;
  const finished = new Promise<number>((r) => (done = r));
  const cpuUs = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const server = memoryServer(n, () => {
    results++;
    if (results === from) startCpu = cpuUs();
    if (results === n) done(cpuUs());
  });
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "idflow-hot-path-"));
  try {
    let stop: () => Promise<unknown>;
    if (id === "idflow" || id === "idflow-spool-off") {
      const { runWorkers } = await import("../src/runtime/handler.ts");
      const { ConductorClient } = await import("../src/conductor/client.ts");
      const client = new ConductorClient({ serverUrl: "http://memory.invalid:8080" });
      // The client's undici pool, swapped for the server in memory (a private field: a benchmark's liberty).
      (client as unknown as { pool: MemoryServer }).pool = server;
      const run = await runWorkers({
        client,
        stateDir,
        handleSignals: false,
        spoolOff: id === "idflow-spool-off",
        registrations: [
          { name: "hot_path_noop", options: { name: "hot_path_noop", concurrency, pollIntervalMs: 100, pollTimeoutMs: 100 }, fn: noop, sourceFile: here },
        ],
      });
      stop = () => run.stop();
    } else stop = runLoop(server, id === "loop-durable" ? stateDir : undefined);
    const endCpu = await finished;
    await stop();
    process.stdout.write(`${JSON.stringify({ cpuUsPerTask: +((endCpu - startCpu) / (n - from)).toFixed(3) })}\n`);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The minimal loops (the same shape as bench/peers/workers/loop-worker.mjs, on the server in memory). */
function runLoop(server: MemoryServer, durableDir?: string): () => Promise<void> {
  const journal = durableDir ? openSync(path.join(durableDir, "journal.jsonl"), "a") : undefined;
  const context = durableDir ? new AsyncLocalStorage<Task>() : undefined;
  // Group commit: the results put in one microtask checkpoint go out in one write, with the done
  // marks gathered since the last one, before any of them is sent.
  let batch: { lines: string; written: Promise<void> } | undefined;
  let doneMarks = "";
  const journalPut = (line: string): Promise<void> => {
    if (!batch) {
      const b = { lines: "", written: Promise.resolve() };
      b.written = new Promise<void>((resolve) =>
        queueMicrotask(() => {
          batch = undefined;
          writeSync(journal!, doneMarks + b.lines);
          doneMarks = "";
          resolve();
        }),
      );
      batch = b;
    }
    batch.lines += line;
    return batch.written;
  };
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let stopping = false;
  const slot = async (task: Task) => {
    inFlight++;
    const outputData = context ? await context.run(task, () => Promise.resolve().then(noop)) : await noop();
    const result = { taskId: task.taskId, workflowInstanceId: task.workflowInstanceId, workerId: "loop", status: "COMPLETED", outputData };
    const body = JSON.stringify(result);
    if (journal !== undefined) await journalPut(`{"p":"${result.taskId}","r":${body}}\n`);
    await call(server, "POST", "tasks", body);
    if (journal !== undefined) doneMarks += `{"d":"${result.taskId}"}\n`;
    inFlight--;
    wake?.();
  };
  const loop = (async () => {
    while (!stopping && server.remaining() > 0) {
      const free = concurrency - inFlight;
      if (free <= 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const r = await call(server, "GET", `tasks/poll/batch/hot_path_noop?workerid=loop&count=${free}&timeout=0`);
      for (const t of JSON.parse(r.text) as Task[]) void slot(t);
    }
  })();
  return async () => {
    stopping = true;
    wake?.();
    await loop;
  };
}

// ------------------------------------------------------------------ the benchmark (parent)

async function main(): Promise<void> {
  const runs = int(flags.runs, flags.quick ? 1 : 5, "runs");
  const ids = (flags.contenders?.split(",") ?? [...CONTENDER_IDS]) as ContenderId[];
  checkContenderIds(ids, log, [...CONTENDER_IDS]);
  log(
    `${runs} run(s) of ${n} tasks per contender, concurrency ${concurrency}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const cells = ids.map((id) => ({ contender: id, runs: [] as Array<{ cpuUsPerTask: number }> }));
  for (let run = 1; run <= runs; run++) {
    // Every other run goes through the contenders backwards (a machine whose load changes favours no one).
    for (const cell of run % 2 ? cells : [...cells].reverse()) {
      const r = spawnSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), "--child", cell.contender, "--n", String(n), "--concurrency", String(concurrency)],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      if (r.status !== 0) throw new Error(`${cell.contender} failed (exit ${r.status}): ${r.stdout}`);
      const fig = JSON.parse(r.stdout.trim().split("\n").pop()!) as { cpuUsPerTask: number };
      log(`run ${run} ${cell.contender}: ${fig.cpuUsPerTask} µs/task`);
      cell.runs.push(fig);
    }
  }
  const base = median(cells.find((c) => c.contender === "idflow")?.runs.map((r) => r.cpuUsPerTask) ?? []);
  const lines = ["| contender | runs | CPU µs/task (median) | runs' range |", "|---|---|---|---|"];
  for (const c of cells) {
    const v = c.runs.map((r) => r.cpuUsPerTask);
    const m = median(v);
    const ratio = c.contender !== "idflow" && base ? ` (${(m / base).toFixed(2)}×)` : "";
    lines.push(`| ${c.contender} | ${v.length} | ${m.toFixed(2)}${ratio} | ${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)} |`);
  }
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench -- hot-path ${process.argv.slice(2).join(" ")}`.trim(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverageAtStart: os.loadavg() },
    settings: { n, runs, concurrency },
    cells,
  };
  const file = flags.out
    ? path.resolve(flags.out)
    : path.join(here, "results", `hot-path-${result.date.replace(/[:.]/g, "-")}${flags.quick ? "-quick" : ""}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${lines.join("\n")}\n`);
  log(`raw figures: ${path.relative(process.cwd(), file)}`);
}

if (flags.child) await child(flags.child as ContenderId);
else await main();
