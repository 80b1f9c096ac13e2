/**
 * One measurement of one contender against the real Conductor: a drain (tasks queued before the
 * worker starts, timed from the first task's startTime to the last one's endTime) and/or a trickle (one workflow every `everyMs`: pickup
 * latency = startTime - scheduledTime, Conductor's own timestamps). Completion is counted by
 * the task's status (a workflow can stay RUNNING after its task completed until the sweeper
 * reaches it). CPU and RSS are the worker's whole process tree, from /proc.
 */
import type { ChildProcess } from "node:child_process";
import type { ConductorClient } from "../../src/conductor/client.ts";
import type { Task } from "../../src/conductor/types.ts";
import type { Contender, WorkerSpec } from "./contenders.ts";
import { RssSampler, treeStats, treeUsage } from "./proc-tree.ts";

export interface DrainFigures {
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  cpuMsPerTask: number;
  /**
   * CPU per task over the drain's second half (from the median task's startTime to the end): what
   * a worker that has been running a while spends, without its first seconds (JIT compilation,
   * first connections), which the whole drain's figure carries.
   */
  steadyCpuMsPerTask: number;
  /**
   * CPU per task in each tenth of the drain, by the tasks' startTimes (the first tenth from the
   * sample before the first start, so it carries the wake-up; the last to the last endTime): where
   * in a drain a contender spends more, a fixed cost at its start or the same cost on every task.
   */
  cpuMsPerTaskByTenth: number[];
  peakRssMb: number;
  /** RSS at the end minus RSS when the drain began (after warm-up), MB. */
  rssGrowthMb: number;
  /** The Conductor JVM's CPU over the same window per task (when its pid is known), ms. */
  serverCpuMsPerTask?: number;
}

export interface TrickleFigures {
  tasks: number;
  pickupP50Ms: number;
  pickupP99Ms: number;
  /** Worker CPU over the trickle window (idle polling included) per task. */
  cpuMsPerTask: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** After SIGSTOP, how long past the poll timeout the server gets to answer every poll under way (SQLite's poll holds ~100 ms more). */
const POLLS_ANSWERED_MARGIN_MS = 2000;

/** Run `fn` over `items` with at most `width` at once. */
async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/**
 * The no-op task and its one-task workflow. A long response timeout: a poll answered while the
 * worker is stopped for a drain leaves its task IN_PROGRESS until the worker resumes, which on a
 * loaded machine can take longer than a minute; that is not what is measured.
 */
export async function defineNoop(client: ConductorClient, taskName: string): Promise<string> {
  await client.registerTaskDefs([{ name: taskName, timeoutSeconds: 0, responseTimeoutSeconds: 3600, retryCount: 0, ownerEmail: "bench@idflow.dev" }]);
  const wf = `${taskName}_wf`;
  await client.upsertWorkflowDefs([
    { name: wf, version: 1, schemaVersion: 2, ownerEmail: "bench@idflow.dev", tasks: [{ name: taskName, taskReferenceName: "t", type: "SIMPLE" }] },
  ]);
  return wf;
}

/** Start n workflows, `width` at once; returns their ids. */
export function startWorkflows(client: ConductorClient, wf: string, n: number, width = 4): Promise<string[]> {
  return pool(
    Array.from({ length: n }, (_, i) => i),
    width,
    () => client.startWorkflow(wf, {}),
  );
}

/** The workflows' (only) task once it is terminal; waits for stragglers up to `timeoutMs`. */
export async function finishedTasks(client: ConductorClient, ids: string[], timeoutMs: number): Promise<Task[]> {
  const deadline = Date.now() + timeoutMs;
  return pool(ids, 8, async (id) => {
    for (;;) {
      const w = await client.getWorkflow(id, true);
      const t = w.tasks?.[0];
      if (t && t.status === "COMPLETED") return t;
      if (t && ["FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "CANCELED"].includes(String(t.status))) {
        throw new Error(`task ${t.taskId} of workflow ${id} ended ${t.status}: ${t.reasonForIncompletion ?? ""}`);
      }
      if (Date.now() > deadline) throw new Error(`workflow ${id}: its task is still ${t?.status ?? "not scheduled"} after ${timeoutMs} ms`);
      await sleep(200);
    }
  });
}

async function waitQueueEmpty(client: ConductorClient, taskName: string, timeoutMs: number, worker: WorkerProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await client.queueSize(taskName)) > 0) {
    worker.assertAlive();
    if (Date.now() > deadline) throw new Error(`${worker.contender.id}: the queue of ${taskName} is not empty after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** CPU samples of the tree, timestamped, so a window can be cut at Conductor's end time. */
class CpuTrace {
  readonly samples: Array<{ at: number; cpuMs: number; serverCpuMs: number; rssBytes: number }> = [];
  private timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    private readonly serverPid?: number,
    everyMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): { cpuMs: number; serverCpuMs: number } {
    const u = treeUsage(this.pid);
    const s = { at: Date.now(), cpuMs: u.cpuMs, rssBytes: u.rssBytes, serverCpuMs: this.serverPid ? treeUsage(this.serverPid).cpuMs : NaN };
    this.samples.push(s);
    return s;
  }
  /** The last sample taken at or before `at` (or the first). */
  before(at: number): { cpuMs: number; serverCpuMs: number } {
    return [...this.samples].reverse().find((s) => s.at <= at) ?? this.samples[0];
  }
  rssBefore(at: number): number {
    return ([...this.samples].reverse().find((s) => s.at <= at && s.rssBytes > 0) ?? this.samples.find((s) => s.rssBytes > 0))?.rssBytes ?? 0;
  }
  /** CPU at `at`, interpolated between the samples around it. */
  cpuAt(at: number): number {
    const after = this.samples.findIndex((s) => s.at >= at);
    if (after <= 0) return (this.samples[after === 0 ? 0 : this.samples.length - 1] ?? { cpuMs: 0 }).cpuMs;
    const a = this.samples[after - 1];
    const b = this.samples[after];
    return a.cpuMs + ((b.cpuMs - a.cpuMs) * (at - a.at)) / Math.max(1, b.at - a.at);
  }
  /** The first sample taken at or after `at` (or the latest). */
  at(at: number): { cpuMs: number; serverCpuMs: number } {
    return this.samples.find((s) => s.at >= at) ?? this.samples[this.samples.length - 1];
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

export class WorkerProcess {
  readonly child: ChildProcess;
  private stderr = "";
  private exited?: number | null;
  readonly rss: RssSampler;
  constructor(
    readonly contender: Contender,
    readonly spec: WorkerSpec,
  ) {
    this.child = contender.start(spec);
    this.child.stderr?.on("data", (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.child.on("exit", (code, sig) => (this.exited = code ?? (sig ? -1 : null)));
    this.rss = new RssSampler(this.child.pid!);
  }
  assertAlive(): void {
    if (this.exited !== undefined) throw new Error(`${this.contender.id} exited (${this.exited}) early:\n${this.stderr}`);
  }
  /** SIGSTOP (or SIGCONT) every process of the worker's tree: a stopped worker takes no task and spends no CPU. */
  signalTree(sig: "SIGSTOP" | "SIGCONT"): void {
    for (const { pid } of treeStats(this.child.pid!)) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  }
  async stop(): Promise<void> {
    this.rss.stop();
    if (this.exited !== undefined) return;
    this.signalTree("SIGCONT"); // a stopped process would not act on SIGTERM
    const pids = treeStats(this.child.pid!).map((s) => s.pid);
    const gone = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.kill("SIGTERM");
    if (await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)])) {
      // The root exited; make sure no child of it lingers.
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      return;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await gone;
  }
  get lastStderr(): string {
    return this.stderr;
  }
}

/** Start the worker and run `n` warm-up tasks through it (proves it works; warms JIT and connections). */
export async function startAndWarm(client: ConductorClient, contender: Contender, spec: WorkerSpec, wf: string, n: number): Promise<WorkerProcess> {
  const w = new WorkerProcess(contender, spec);
  try {
    const ids = await startWorkflows(client, wf, n);
    await waitQueueEmpty(client, spec.taskName, 120_000, w);
    await finishedTasks(client, ids, 60_000);
    return w;
  } catch (err) {
    await w.stop();
    throw new Error(`${contender.id}: warm-up failed: ${(err as Error).message}\n${w.lastStderr}`);
  }
}

/**
 * Queue `n` workflows with no worker running, then start the worker and time how fast it empties
 * the queue: from the first task's startTime to the last task's endTime (Conductor's clock), CPU
 * over the same window (so the worker's start-up is left out). Returns the worker, still running.
 *
 * With `warmUp.tasks` the worker is started first and runs that many tasks (so its JIT has compiled
 * its per-task path, as in a worker that has been up a while), runs idle for `warmUp.idleMs` (polling,
 * as a worker does between bursts: see below), then is stopped (SIGSTOP, its whole tree) while the
 * queue fills, and continued (SIGCONT) to drain it.
 *
 * Why idle first: a Node process's V8 runs a memory reducer about 8 s after its start-up (8 s after
 * a full collection, which idflow's module graph makes, or after another sign of garbage, as in the
 * loops): up to three full collections about 600 ms apart if it judges the program idle. A worker
 * up a while has had them. Stopped a few seconds after its start, a worker kept that timer frozen,
 * and on SIGCONT the reducer, sampling an allocation rate that spans the stop, collected three
 * times inside the measured drain (docs/performance.md, "A worker that has been up a while").
 *
 * The queue is filled only after every poll the worker had under way has been answered: the server
 * answers a poll within its timeout (spec.pollTimeoutMs), empty as nothing is queued yet, so no task
 * is handed to a stopped worker. Without that wait a poll answered during the queueing would hand tasks to a
 * frozen process, which could outlive its client's request timeout and be lost on SIGCONT.
 */
export async function drain(
  client: ConductorClient,
  contender: Contender,
  spec: WorkerSpec,
  wf: string,
  n: number,
  serverPid?: number,
  warmUp: { tasks: number; idleMs: number } = { tasks: 0, idleMs: 0 },
): Promise<{ figures: DrainFigures; worker: WorkerProcess }> {
  let warm: WorkerProcess | undefined;
  if (warmUp.tasks > 0) {
    warm = await startAndWarm(client, contender, spec, wf, warmUp.tasks);
    if (warmUp.idleMs > 0) {
      await sleep(warmUp.idleMs);
      warm.assertAlive();
    }
    warm.signalTree("SIGSTOP");
    await sleep(spec.pollTimeoutMs + POLLS_ANSWERED_MARGIN_MS);
  }
  let ids: string[];
  try {
    ids = await startWorkflows(client, wf, n, 8);
  } catch (err) {
    await warm?.stop();
    throw err;
  }
  const w = warm ?? new WorkerProcess(contender, spec);
  const trace = new CpuTrace(w.child.pid!, serverPid);
  trace.sample();
  if (warm) warm.signalTree("SIGCONT");
  try {
    await waitQueueEmpty(client, spec.taskName, 30 * 60_000, w);
    const tasks = await finishedTasks(client, ids, 120_000);
    const first = Math.min(...tasks.map((t) => t.startTime ?? Infinity));
    const t1 = Math.max(...tasks.map((t) => t.endTime ?? 0));
    const cpu0 = trace.before(first);
    const cpu1 = trace.at(t1);
    const rss0 = trace.rssBefore(first);
    const { peak, last } = { peak: w.rss.peak, last: w.rss.sample() };
    const seconds = Math.max(1, t1 - first) / 1000;
    const starts = tasks.map((t) => t.startTime ?? 0).sort((x, y) => x - y);
    const half = Math.floor(starts.length / 2);
    const steadyCpuMs = cpu1.cpuMs - trace.cpuAt(starts[half]);
    const tenths = Array.from({ length: 10 }, (_, k) => {
      const [from, to] = [Math.floor((k * starts.length) / 10), Math.floor(((k + 1) * starts.length) / 10)];
      const c0 = k === 0 ? cpu0.cpuMs : trace.cpuAt(starts[from]);
      const c1 = k === 9 ? cpu1.cpuMs : trace.cpuAt(starts[to]);
      return +((c1 - c0) / Math.max(1, to - from)).toFixed(3);
    });
    const figures: DrainFigures = {
      tasks: n,
      seconds: +seconds.toFixed(2),
      tasksPerSecond: +(n / seconds).toFixed(1),
      cpuMsPerTask: +((cpu1.cpuMs - cpu0.cpuMs) / n).toFixed(3),
      steadyCpuMsPerTask: +(steadyCpuMs / (starts.length - half)).toFixed(3),
      cpuMsPerTaskByTenth: tenths,
      peakRssMb: +(peak / 2 ** 20).toFixed(1),
      rssGrowthMb: +((last - rss0) / 2 ** 20).toFixed(1),
    };
    if (serverPid) figures.serverCpuMsPerTask = +((cpu1.serverCpuMs - cpu0.serverCpuMs) / n).toFixed(3);
    return { figures, worker: w };
  } catch (err) {
    await w.stop();
    throw new Error(`${(err as Error).message}\n  worker stderr: ${w.lastStderr.trim().split("\n").slice(-5).join("\n")}`);
  } finally {
    trace.stop();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export async function trickle(client: ConductorClient, w: WorkerProcess, wf: string, n: number, everyMs: number): Promise<TrickleFigures> {
  const trace = new CpuTrace(w.child.pid!);
  const cpu0 = trace.sample().cpuMs;
  const t0 = Date.now();
  const starts: Array<Promise<string>> = [];
  try {
    for (let i = 0; i < n; i++) {
      const due = t0 + i * everyMs;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      w.assertAlive();
      starts.push(client.startWorkflow(wf, {}));
    }
    const ids = await Promise.all(starts);
    const tasks = await finishedTasks(client, ids, 120_000);
    const t1 = Math.max(...tasks.map((t) => t.endTime ?? 0));
    const cpu1 = trace.at(t1).cpuMs;
    const pickup = tasks.map((t) => (t.startTime ?? 0) - (t.scheduledTime ?? 0)).sort((a, b) => a - b);
    return {
      tasks: n,
      pickupP50Ms: percentile(pickup, 50),
      pickupP99Ms: percentile(pickup, 99),
      cpuMsPerTask: +((cpu1 - cpu0) / n).toFixed(3),
    };
  } finally {
    trace.stop();
  }
}
