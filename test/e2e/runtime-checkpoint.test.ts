/**
 * Long tasks on the real Conductor: a batch task whose worker process is SIGKILLed halfway
 * resumes from its last checkpoint and does every item once; a shutdown past grace hands its
 * checkpoint to the retry; a terminated workflow stops its running task (and a child process it
 * started) at the next heartbeat.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import type { ConductorClient } from "../../src/conductor/client.ts";
import type { TaskDef } from "../../src/conductor/types.ts";
import { waitForWorkflow } from "../../src/conductor/wait.ts";
import { discover } from "../../src/discovery/discover.ts";
import { runWorkers, type RunWorkersOptions } from "../../src/runtime/handler.ts";
import { isBatchProgress, type BatchProgress } from "../../src/task/batches.ts";
import type { TaskContext } from "../../src/task/context.ts";
import type { Registration } from "../../src/task/registration.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";
import { reg, tempStateDir, testLogger, until } from "../fixtures/runtime/helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../cli/bin.js");
const project = path.resolve(here, "../fixtures/runtime/checkpoint-project");
const client = testClient();
after(() => client.close());

/** A task definition and a one-task workflow passing `count`, `size` and `batchMs` through. */
async function define(c: ConductorClient, name: string, def: Partial<TaskDef>): Promise<string> {
  await c.registerTaskDefs([{ name, timeoutSeconds: 0, retryLogic: "FIXED", retryDelaySeconds: 0, ownerEmail: "test@idflow.dev", ...def }]);
  const wf = `${name}_wf`;
  const res = await c.upsertWorkflowDefs([
    {
      name: wf,
      version: 1,
      schemaVersion: 2,
      ownerEmail: "test@idflow.dev",
      tasks: [
        {
          name,
          taskReferenceName: "t",
          type: "SIMPLE",
          inputParameters: { count: "${workflow.input.count}", size: "${workflow.input.size}", batchMs: "${workflow.input.batchMs}" },
        },
      ],
    },
  ]);
  assert.deepEqual(res.bulkErrorResults ?? {}, {});
  return wf;
}

function startWorkerProcess(taskName: string, sideEffects: string): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  let err = "";
  const child = spawn(process.execPath, [bin, "worker", "start", "--all", "--root", project, "--server-url", testServerUrl(), "--log-format", "json"], {
    env: { ...process.env, CK_TASK_NAME: taskName, CK_SIDE_EFFECTS: sideEffects, IDFLOW_STATE_DIR: tempStateDir() },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exit, stderr: () => err };
}

/** The attempts' item ranges must tile 0..count-1: each starts where the one before ended. */
function assertTiles(p: BatchProgress, count: number): void {
  assert.equal(p.itemsDone, count);
  assert.equal(p.attempts[0].from, 0);
  for (let i = 1; i < p.attempts.length; i++) assert.equal(p.attempts[i].from, p.attempts[i - 1].to, `attempt ${i} starts where ${i - 1} stopped`);
  assert.equal(p.attempts.at(-1)!.to, count);
  assert.equal(
    p.attempts.reduce((n, a) => n + (a.to - a.from), 0),
    count,
    "no item twice, none missing",
  );
}

/** The workers of one test: on the test server, a throw-away spool unless given one, short polls. */
function startWorkers(registrations: Registration[], extra: Partial<RunWorkersOptions> = {}) {
  return runWorkers({
    client,
    registrations,
    stateDir: tempStateDir(),
    logger: testLogger(),
    handleSignals: false,
    overrides: { pollTimeoutMs: 200 },
    ...extra,
  });
}

describe("long tasks: checkpoints, resume, cancellation (real Conductor)", () => {
  it("a 1,000-item batch task whose worker is SIGKILLed halfway resumes from its last checkpoint and does every item once", async () => {
    const name = uniqueName("ck_kill");
    const wf = await define(client, name, { responseTimeoutSeconds: 4, retryCount: 2 });
    const sideEffects = path.join(tempStateDir(), "done.txt");
    const id = await client.startWorkflow(wf, { count: 1000, size: 10, batchMs: 20 });

    const first = startWorkerProcess(name, sideEffects);
    let taskId = "";
    // Kill it once its checkpoint on the server says 400 items are done.
    await until(
      async () => {
        const t = (await client.getWorkflow(id, true)).tasks?.[0];
        if (!t) return false;
        taskId = t.taskId;
        const done = (t.outputData?.checkpoint as { state?: BatchProgress } | undefined)?.state?.itemsDone ?? 0;
        return done >= 400;
      },
      90_000,
      "400 items checkpointed",
    );
    first.child.kill("SIGKILL");
    await first.exit;
    const killedAt = (await client.getTask(taskId))!;
    assert.equal(killedAt.status, "SCHEDULED", "a checkpointed task waits in the queue for its lease to run out");
    const savedBeforeKill = (killedAt.outputData!.checkpoint as { state: BatchProgress }).state.itemsDone;

    const second = startWorkerProcess(name, sideEffects);
    try {
      const w = await waitForWorkflow(client, id, { timeoutMs: 90_000, includeTasks: true });
      assert.equal(w.status, "COMPLETED", `${w.reasonForIncompletion ?? ""}\n${second.stderr().slice(-2000)}`);
      assert.equal(w.tasks?.length, 1, "no retry was needed: Conductor handed the same task to the next worker");
      const out = w.tasks![0].outputData!;
      assert.equal(out.count, 1000);
      assert.equal(out.checkpoint, undefined, "the completed output replaced the checkpoint");
      const p = out.batches;
      assert.ok(isBatchProgress(p), JSON.stringify(out).slice(0, 500));
      assert.equal(p.attempts.length, 2);
      assert.equal(p.attempts[1].from, savedBeforeKill, "the second attempt began at the last checkpoint the first one saved");
      assert.deepEqual(
        p.attempts.map((a) => [a.taskId, a.pollCount]),
        [
          [taskId, 1],
          [taskId, 2],
        ],
      );
      assertTiles(p, 1000);
      assert.equal(p.done, 100);

      // The side effects: every item done; a repeat only in the one batch that was in flight at the kill.
      const lines = readFileSync(sideEffects, "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" ").map(Number));
      const times = new Map<number, number>();
      for (const [, item] of lines) times.set(item, (times.get(item) ?? 0) + 1);
      for (let i = 0; i < 1000; i++) assert.ok(times.has(i), `item ${i} was done`);
      const repeated = [...times].filter(([, n]) => n > 1).map(([i]) => i);
      assert.ok(repeated.length <= 10, `at most one batch repeated, got ${repeated.length} items`);
      for (const i of repeated) assert.ok(i >= savedBeforeKill && i < savedBeforeKill + 10, `item ${i} repeated outside the batch in flight`);
    } finally {
      second.child.kill("SIGTERM");
      await second.exit;
    }
  });

  it("a shutdown past grace reports FAILED with the checkpoint, and the retry resumes from it", async () => {
    const name = uniqueName("ck_grace");
    const wf = await define(client, name, { responseTimeoutSeconds: 30, retryCount: 1 });
    const work = async (input: { count: number; size: number; batchMs: number }, ctx: TaskContext) => {
      for await (const _b of ctx.batches(
        Array.from({ length: input.count }, (_, i) => i),
        input.size,
      )) {
        await sleep(input.batchMs, undefined, { signal: ctx.signal });
      }
      return { retryCount: ctx.retryCount };
    };
    const id = await client.startWorkflow(wf, { count: 200, size: 5, batchMs: 100 });
    const stateDir = tempStateDir();
    const run1 = await startWorkers([reg(name, work, { checkpointIntervalMs: 500 })], { stateDir, shutdownGraceMs: 200 });
    await until(
      async () =>
        (((await client.getWorkflow(id, true)).tasks?.[0]?.outputData?.checkpoint as { state?: BatchProgress } | undefined)?.state?.itemsDone ?? 0) >= 20,
      30_000,
      "20 items checkpointed",
    );
    const summary = await run1.stop();
    assert.equal(summary.aborted, 1);
    const failed = (await client.getWorkflow(id, true)).tasks![0];
    assert.equal(failed.status, "FAILED");
    assert.equal(failed.reasonForIncompletion, "worker shutting down");
    const carried = (failed.outputData!.checkpoint as { state: BatchProgress }).state;
    assert.ok(carried.itemsDone >= 20 && carried.itemsDone < 200, "the FAILED result carries the latest checkpoint");

    const run2 = await startWorkers([reg(name, work)], { stateDir });
    try {
      const w = await waitForWorkflow(client, id, { timeoutMs: 60_000, includeTasks: true });
      assert.equal(w.status, "COMPLETED", w.reasonForIncompletion);
      const retry = w.tasks!.at(-1)!;
      assert.equal(retry.retriedTaskId, failed.taskId, "the retry names the attempt it retries");
      const p = retry.outputData!.batches;
      assert.ok(isBatchProgress(p));
      assert.equal(p.attempts.length, 2);
      assert.deepEqual(
        p.attempts.map((a) => [a.taskId, a.retryCount]),
        [
          [failed.taskId, 0],
          [retry.taskId, 1],
        ],
      );
      assert.equal(p.attempts[1].from, carried.itemsDone, "the retry began where the failed attempt's checkpoint said");
      assertTiles(p, 200);
    } finally {
      await run2.stop();
    }
  });

  it("in a worker thread: checkpoints reach the server, a failure carries them, the retry resumes", async () => {
    const name = uniqueName("ck_thread");
    process.env.CK_THREAD_TASK_NAME = name; // the thread re-imports the module and must find the same name
    after(() => delete process.env.CK_THREAD_TASK_NAME);
    const found = await discover({ root: project });
    const registration = found.registrations.find((r) => r.name === name);
    assert.ok(registration, JSON.stringify(found.errors));
    const wf = await define(client, name, { responseTimeoutSeconds: 30, retryCount: 1 });
    const run = await startWorkers([registration]);
    try {
      const id = await client.startWorkflow(wf, {});
      const w = await waitForWorkflow(client, id, { timeoutMs: 60_000, includeTasks: true });
      assert.equal(w.status, "COMPLETED", w.reasonForIncompletion);
      const [first, retry] = w.tasks!;
      assert.equal(first.status, "FAILED");
      assert.equal((first.outputData!.checkpoint as { state: BatchProgress }).state.itemsDone, 2, "batch 0 was saved; batch 1 failed");
      const out = retry.outputData!;
      assert.deepEqual(out.seen, [2, 3, 4, 5], "the retry skipped batch 0");
      assert.equal((out.resumedFrom as BatchProgress).itemsDone, 2);
      assert.ok(isBatchProgress(out.batches));
      assertTiles(out.batches, 6);
    } finally {
      await run.stop();
    }
  });

  it("a terminated workflow stops its running task at the next heartbeat, and the child process it started", async () => {
    const name = uniqueName("ck_term");
    const wf = await define(client, name, { responseTimeoutSeconds: 60, retryCount: 0 });
    let beat!: () => void;
    const beatNow = new Promise<void>((r) => (beat = r));
    let started!: (pid: number) => void;
    const childPid = new Promise<number>((r) => (started = r));
    const seen: { abortedBefore?: boolean; abortedAfter?: boolean; reason?: string } = {};
    let ended!: () => void;
    const taskEnded = new Promise<void>((r) => (ended = r));
    const work = async (_input: unknown, ctx: TaskContext) => {
      // A long-running program, stopped through ctx.signal (what exec workers do with their process group).
      const child = spawn("sleep", ["300"], { signal: ctx.signal, stdio: "ignore" });
      child.on("error", () => {});
      started(child.pid!);
      await beatNow;
      seen.abortedBefore = ctx.signal.aborted;
      await ctx.heartbeat();
      seen.abortedAfter = ctx.signal.aborted;
      seen.reason = (ctx.signal.reason as Error | undefined)?.message;
      ended();
      return { finished: true };
    };
    const run = await startWorkers([reg(name, work)]);
    try {
      const id = await client.startWorkflow(wf, {});
      const pid = await childPid;
      await client.terminateWorkflow(id, "stop it");
      beat(); // the first heartbeat after the termination
      await taskEnded;
      assert.deepEqual(seen.abortedBefore, false, "nothing stops the task before it talks to the server");
      assert.equal(seen.abortedAfter, true, "the first heartbeat after the termination aborted ctx.signal");
      assert.match(seen.reason ?? "", /the task is CANCELED on the server/);
      await until(() => !alive(pid), 10_000, "the child process to end");
      await until(() => run.stats().workers[name].cancelled === 1, 10_000, "the execution to end");
      assert.equal(run.stats().workers[name].failed, 0, "a cancelled task is not counted as failed");
      const t = (await client.getWorkflow(id, true)).tasks![0];
      assert.equal(t.status, "CANCELED", "nothing was reported over the cancellation");
      assert.equal(run.stats().delivery.delivered, 0);
    } finally {
      await run.stop();
    }
  });

  it("an exec worker with leaseExtend: a terminated workflow stops its program and what the program started", async () => {
    const name = uniqueName("ck_exec");
    const root = tempStateDir();
    const pidFile = path.join(root, "sleep.pid");
    mkdirSync(path.join(root, "tasks", name), { recursive: true });
    // The program starts a grandchild and waits on it: the process-group kill must reach both.
    const manifest = {
      name,
      command: "sh",
      args: ["-c", `sleep 300 & echo $! > '${pidFile}'; wait`],
      mode: "process",
      leaseExtend: true,
      responseTimeoutSeconds: 4,
      retryCount: 0,
    };
    writeFileSync(path.join(root, "tasks", name, "task.json"), JSON.stringify(manifest));
    const found = await discover({ root });
    const registration = found.registrations.find((r) => r.name === name);
    assert.ok(registration, JSON.stringify(found.errors));
    const wf = await define(client, name, { responseTimeoutSeconds: 4, retryCount: 0 });
    const run = await startWorkers([registration]);
    try {
      const id = await client.startWorkflow(wf, {});
      await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "", 30_000, "the program to start");
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      assert.ok(alive(pid));
      const terminatedAt = Date.now();
      await client.terminateWorkflow(id, "stop the program");
      await until(() => !alive(pid), 30_000, "the program's child to be killed");
      process.stderr.write(`# exec program stopped ${Date.now() - terminatedAt} ms after the termination (heartbeat interval 2000 ms)\n`);
      await until(() => run.stats().workers[name].cancelled === 1, 10_000, "the execution to end");
      assert.equal((await client.getWorkflow(id, true)).tasks![0].status, "CANCELED", "nothing was reported over the cancellation");
    } finally {
      await run.stop();
    }
  });

  it("with leaseExtend the automatic heartbeat notices a termination within one heartbeat interval", async () => {
    const name = uniqueName("ck_term_auto");
    // responseTimeoutSeconds 4: leaseExtend heartbeats every 2 s.
    const wf = await define(client, name, { responseTimeoutSeconds: 4, retryCount: 0 });
    let running!: () => void;
    const isRunning = new Promise<void>((r) => (running = r));
    let abortedAt = 0;
    const work = (_input: unknown, ctx: TaskContext) =>
      new Promise((resolve) => {
        running();
        ctx.signal.addEventListener("abort", () => {
          abortedAt = Date.now();
          resolve({ stopped: true });
        });
      });
    const run = await startWorkers([reg(name, work, { leaseExtend: true })]);
    try {
      const id = await client.startWorkflow(wf, {});
      await isRunning;
      await sleep(2500); // past the first heartbeat: the task is alive and leased
      assert.equal(abortedAt, 0);
      const terminatedAt = Date.now();
      await client.terminateWorkflow(id, "stop it");
      await until(() => abortedAt > 0, 20_000, "the task to be stopped");
      // One interval is 2 s; a loaded machine may add to it, so this only says it was not ignored.
      process.stderr.write(`# termination noticed after ${abortedAt - terminatedAt} ms (heartbeat interval 2000 ms)\n`);
      assert.equal((await client.getWorkflow(id, true)).tasks![0].status, "CANCELED");
    } finally {
      await run.stop();
    }
  });
});

/** True while the process runs (a zombie waiting for its reaper counts as stopped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}
