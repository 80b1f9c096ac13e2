/**
 * The contenders of the peers benchmark: each is started as its own process (as its users run
 * it) on a task name, a concurrency, a poll interval and a poll timeout, the same for all.
 * `prepare()` installs what a contender needs (the Python SDK's virtual environment) or says
 * why it cannot run (`worker exec` before it exists).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packageEnv, packIdflow, type PackedIdflow } from "./package.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const cliBin = path.join(repo, "cli/bin.js");
const workers = path.join(here, "workers");
/** The Python SDK's virtual environment, created by the bench (gitignored). */
export const VENV = path.join(repo, "bench/.venv");
/** The Python SDK release measured (pinned so runs compare). */
export const PYTHON_SDK = "conductor-python==2.0.0";

export interface WorkerSpec {
  serverUrl: string;
  taskName: string;
  concurrency: number;
  pollIntervalMs: number;
  pollTimeoutMs: number;
}

export interface Contender {
  id: string;
  /** One line: what runs. */
  describe: string;
  /** At most this many tasks per drain, and no long run (a contender too slow for the full N). */
  maxTasks?: number;
  /** Undefined when ready; else why it cannot run here. May install (venv). */
  prepare(log: (line: string) => void): string | undefined;
  start(spec: WorkerSpec): ChildProcess;
}

function benchEnv(spec: WorkerSpec): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CONDUCTOR_SERVER_URL: spec.serverUrl,
    BENCH_TASK_NAME: spec.taskName,
    BENCH_CONCURRENCY: String(spec.concurrency),
    BENCH_POLL_INTERVAL_MS: String(spec.pollIntervalMs),
    BENCH_POLL_TIMEOUT_MS: String(spec.pollTimeoutMs),
  };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = repo): ChildProcess {
  // BENCH_CPU_PROF=<dir>: every Node contender writes a V8 CPU profile there when it exits
  // (sampled every BENCH_CPU_PROF_INTERVAL µs, V8's default 1000 otherwise).
  // BENCH_NODE_FLAGS="...": flags for every Node contender's node, before its script (V8 flags such
  // as --no-memory-reducer, which NODE_OPTIONS does not take).
  const prof = process.env.BENCH_CPU_PROF;
  const every = process.env.BENCH_CPU_PROF_INTERVAL;
  const nodeFlags = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  if (nodeFlags.length && cmd === process.execPath) args = [...nodeFlags, ...args];
  if (prof && cmd === process.execPath)
    args = ["--cpu-prof", `--cpu-prof-dir=${path.resolve(prof)}`, ...(every ? [`--cpu-prof-interval=${every}`] : []), ...args];
  // stdout is ignored (no contender needs it) unless BENCH_STDOUT=<file> appends it there (V8's
  // --trace-gc lines, from BENCH_NODE_FLAGS, go to stdout); stderr is kept for the error report.
  const out = process.env.BENCH_STDOUT ? openSync(process.env.BENCH_STDOUT, "a") : "ignore";
  const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", out, "pipe"] });
  if (typeof out === "number") closeSync(out); // the child has its own copy
  return child;
}

function execAvailable(): string | undefined {
  // yargs answers --help for an unknown subcommand with the group's help (exit 0): look for the command in it.
  const r = spawnSync(process.execPath, [cliBin, "worker", "--help"], { encoding: "utf8", timeout: 60_000 });
  return /idflow worker exec\b/.test(r.stdout + r.stderr) ? undefined : "`idflow worker exec` is not in this build yet (issue 9): skipped";
}

function python(): string {
  return path.join(VENV, "bin", "python");
}

let venvChecked: string | undefined | null = null;
function prepareVenv(log: (line: string) => void): string | undefined {
  if (venvChecked !== null) return venvChecked;
  const check = () => spawnSync(python(), ["-c", "import conductor.client.automator.task_handler"], { encoding: "utf8" });
  if (!existsSync(python()) || check().status !== 0) {
    log(`creating ${path.relative(repo, VENV)} and installing ${PYTHON_SDK} (once)...`);
    const mk = spawnSync("python3", ["-m", "venv", VENV], { encoding: "utf8", stdio: ["ignore", "inherit", "inherit"] });
    if (mk.status !== 0) return (venvChecked = `python3 -m venv ${VENV} failed (exit ${mk.status ?? mk.error?.message}): install python3 with the venv module`);
    const pip = spawnSync(python(), ["-m", "pip", "install", "--disable-pip-version-check", "-q", PYTHON_SDK], {
      encoding: "utf8",
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 600_000,
    });
    if (pip.status !== 0) return (venvChecked = `pip install ${PYTHON_SDK} into ${VENV} failed (exit ${pip.status ?? pip.error?.message})`);
    const again = check();
    if (again.status !== 0) return (venvChecked = `the Python SDK does not import after installing: ${again.stderr.trim().split("\n").pop()}`);
  }
  return (venvChecked = undefined);
}

/** Another checkout of idflow (BENCH_IDFLOW_OTHER=<its root>, npm ci done there), for before/after runs. */
const otherRoot = process.env.BENCH_IDFLOW_OTHER ? path.resolve(process.env.BENCH_IDFLOW_OTHER) : undefined;

/** The flags every idflow contender (`worker start`, `worker exec`) runs with: the same settings as the others. */
function idflowFlags(spec: WorkerSpec): string[] {
  return [
    "--server-url",
    spec.serverUrl,
    "--concurrency",
    String(spec.concurrency),
    "--poll-interval",
    String(spec.pollIntervalMs),
    "--poll-timeout",
    String(spec.pollTimeoutMs),
    "--log-level",
    "warn",
    "--log-format",
    "json",
  ];
}

/**
 * The packed package of a checkout (this one unless given), made by its contender's prepare():
 * idflow runs as users install it (package.ts).
 */
function packageOf(checkout = repo): PackedIdflow {
  const p = packIdflow(checkout, () => {});
  if (typeof p === "string") throw new Error(p);
  return p;
}

/** prepare() of every idflow contender: pack the checkout (once), or say why it cannot be. */
function preparePackage(checkout = repo): (log: (line: string) => void) => string | undefined {
  return (log) => {
    const p = packIdflow(checkout, log);
    return typeof p === "string" ? p : undefined;
  };
}

/** The environment of an idflow process from the packed package: the bench's settings and a spool folder of its own. */
function idflowEnv(spec: WorkerSpec, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return packageEnv({ ...benchEnv(spec), IDFLOW_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), "idflow-peers-")), ...extra });
}

/** idflow with its own spool folder, as its own process, from its packed package, in the package's scratch project. */
function runIdflow(spec: WorkerSpec, pkg: PackedIdflow, args: string[], extra: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): ChildProcess {
  return run(process.execPath, [...nodeFlags, pkg.bin, ...args], idflowEnv(spec, extra), pkg.root);
}

function idflowStart(spec: WorkerSpec, extra: NodeJS.ProcessEnv = {}, pkg = packageOf(), nodeFlags: string[] = []): ChildProcess {
  return runIdflow(spec, pkg, ["worker", "start", "--root", pkg.root, "--worker", spec.taskName, ...idflowFlags(spec)], extra, nodeFlags);
}

/**
 * V8 flags for the idflow-node-gc contender: a young generation that does not shrink, and no
 * memory reducer. BENCH_IDFLOW_NODE_FLAGS="..." replaces them (to measure one flag at a time).
 */
const NODE_GC_FLAGS = process.env.BENCH_IDFLOW_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? ["--min-semi-space-size=16", "--no-memory-reducer"];

/** BENCH_GARBAGE_KB for loop-post-undici-garbage (default 8: about 12 KB of heap per task, more than idflow allocates above the loop). */
const GARBAGE_KB = process.env.BENCH_GARBAGE_KB ?? "8";

/** The no-op Python programs of bench/exec (the exec benchmark's, shared). */
function idflowExec(spec: WorkerSpec, persistent: boolean): ChildProcess {
  const program = path.join(repo, "bench/exec", persistent ? "noop_lines.py" : "noop.py");
  const args = [
    "worker",
    "exec",
    spec.taskName,
    ...idflowFlags(spec),
    "--count",
    String(spec.concurrency),
    ...(persistent ? ["--persistent"] : []),
    "--",
    "python3",
    program,
  ];
  return runIdflow(spec, packageOf(), args);
}

/** A hand-written loop (workers/loop-worker.mjs) on one protocol; `durable` adds its journal and task context. */
function loop(
  id: string,
  describe: string,
  protocol: "post" | "v2",
  durable = false,
  http: "node" | "undici" = "node",
  extra: NodeJS.ProcessEnv = {},
): Contender {
  return {
    id,
    describe,
    prepare: () => undefined,
    start: (s) =>
      run(process.execPath, [path.join(workers, "loop-worker.mjs")], {
        ...benchEnv(s),
        BENCH_PROTOCOL: protocol,
        ...(http === "undici" ? { BENCH_HTTP: "undici" } : {}),
        ...(durable ? { BENCH_DURABLE_DIR: mkdtempSync(path.join(os.tmpdir(), "idflow-peers-durable-")) } : {}),
        ...extra,
      }),
  };
}

/** Listed only when BENCH_IDFLOW_OTHER is set (a default run must not skip it as missing). */
const other: Contender[] = otherRoot
  ? [
      {
        id: "idflow-other",
        describe: `idflow worker start from another checkout (${otherRoot}), packed the same way, same task`,
        prepare: preparePackage(otherRoot),
        start: (s) => idflowStart(s, {}, packageOf(otherRoot)),
      },
    ]
  : [];

export const CONTENDERS: Contender[] = [
  {
    id: "idflow",
    describe: "idflow worker start from the packed package, as users install it (TypeScript no-op task)",
    prepare: preparePackage(),
    start: (s) => idflowStart(s),
  },
  {
    id: "idflow-v2",
    describe: "idflow worker start pinned to update-v2 chaining (IDFLOW_RESULT_PROTOCOL=update-v2), the protocol before the adaptive choice",
    prepare: preparePackage(),
    start: (s) => idflowStart(s, { IDFLOW_RESULT_PROTOCOL: "update-v2" }),
  },
  {
    id: "idflow-post",
    describe: "idflow worker start pinned to batch polls + POST /tasks (IDFLOW_RESULT_PROTOCOL=post), the adaptive choice's deep-queue side alone",
    prepare: preparePackage(),
    start: (s) => idflowStart(s, { IDFLOW_RESULT_PROTOCOL: "post" }),
  },
  {
    id: "idflow-node-gc",
    describe: `idflow worker start under \`node ${NODE_GC_FLAGS.join(" ")}\` (V8 flags, which NODE_OPTIONS does not take): the same build with the garbage collector tuned for a long-running worker`,
    prepare: preparePackage(),
    start: (s) => idflowStart(s, {}, packageOf(), NODE_GC_FLAGS),
  },
  {
    id: "idflow-api",
    describe:
      "idflow's runtime through its programmatic API (createWorkers) in plain node, from the packed package: the same task in JavaScript, without the CLI and tsx",
    prepare: preparePackage(),
    start: (s) => {
      // In the scratch project, where "idflow" resolves to the packed package (as in a user's project).
      const pkg = packageOf();
      const script = path.join(pkg.root, "idflow-api-worker.mjs");
      copyFileSync(path.join(workers, "idflow-api-worker.mjs"), script);
      return run(process.execPath, [script], idflowEnv(s), pkg.root);
    },
  },
  {
    id: "js-sdk",
    describe: "@io-orkes/conductor-javascript TaskHandler, worker object",
    prepare: () =>
      existsSync(path.join(repo, "node_modules/@io-orkes/conductor-javascript/package.json"))
        ? undefined
        : "@io-orkes/conductor-javascript is not installed: run npm ci",
    start: (s) => run(process.execPath, [path.join(workers, "js-sdk-worker.mjs")], benchEnv(s)),
  },
  {
    id: "python-sdk",
    describe: `${PYTHON_SDK} TaskHandler, @worker_task`,
    prepare: prepareVenv,
    start: (s) => run(python(), [path.join(workers, "python_sdk_worker.py")], benchEnv(s)),
  },
  {
    id: "exec-per-task",
    describe: "idflow worker exec, one Python process per task",
    // A Python start per task (tens of ms of CPU): 300 tasks tell its pace; 2,000 would take minutes.
    maxTasks: 300,
    prepare: (log) => preparePackage()(log) ?? execAvailable(),
    start: (s) => idflowExec(s, false),
  },
  {
    id: "exec-persistent",
    describe: "idflow worker exec --persistent, one Python process per slot",
    prepare: (log) => preparePackage()(log) ?? execAvailable(),
    start: (s) => idflowExec(s, true),
  },
  loop("loop-post", "hand-written loop: batch poll + POST /tasks", "post"),
  loop("loop-v2", "hand-written loop: batch poll + update-v2 chaining", "v2"),
  loop("loop-post-undici", "loop-post with idflow's HTTP client: undici's Pool, driven by its dispatch callbacks", "post", false, "undici"),
  loop(
    "loop-v2-durable",
    "loop-v2 plus, in their simplest form, the two things idflow does per task that it does not: each result appended to a journal file before it is sent (done marks after), and the task run in an AsyncLocalStorage context",
    "v2",
    true,
  ),
  loop(
    "loop-post-durable",
    "loop-post plus the same two things as loop-v2-durable (a journal line before each result, the task in an AsyncLocalStorage context)",
    "post",
    true,
  ),
  loop(
    "loop-post-undici-durable",
    "loop-post-undici plus the same two things as loop-v2-durable: the floor with idflow's HTTP client and idflow's guarantees, in their simplest form",
    "post",
    true,
    "undici",
  ),
  loop(
    "loop-post-undici-garbage",
    `loop-post-undici plus ${GARBAGE_KB} × 32 small objects per task (BENCH_GARBAGE_KB), held until its result is answered: what allocating more than idflow does costs the floor`,
    "post",
    false,
    "undici",
    { BENCH_GARBAGE_KB: GARBAGE_KB },
  ),
  ...other,
];
