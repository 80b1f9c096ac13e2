/**
 * Exec workers on the shared runtime against the real Conductor: the result contract, every
 * way a program can misbehave, execution timeouts that kill the process group, large outputs,
 * and persistent (JSON lines) mode with crashes and garbage.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { execRegistration } from "../../src/exec/exec-registration.ts";
import type { ExecSpec } from "../../src/exec/spec.ts";
import { runWorkers, type WorkerRun } from "../../src/runtime/handler.ts";
import { testClient, uniqueName } from "../support/conductor.ts";
import { startMany, tempStateDir, testLogger, until, waitAll } from "../fixtures/runtime/helpers.ts";
import { defineExecWorkflow, fixtures, gone, spec } from "../fixtures/exec/helpers.ts";

const client = testClient();
const runs: WorkerRun[] = [];
after(async () => {
  await Promise.all(runs.map((r) => r.stop()));
  client.close();
});

async function worker(name: string, s: ExecSpec, options: Record<string, unknown> = {}) {
  const reg = execRegistration({ options: { name, ...options }, spec: s, sourceFile: path.join(fixtures, s.args[0] ?? s.command), logger: testLogger() });
  const run = await runWorkers({ client, registrations: [reg], stateDir: tempStateDir(), handleSignals: false, shutdownGraceMs: 5000, logger: testLogger() });
  runs.push(run);
  return run;
}

/** Start one workflow with `input` and wait for it; returns its (first) task. */
async function one(wf: string, input: Record<string, unknown>) {
  const [id] = await startMany(client, wf, 1, input);
  const [w] = await waitAll(client, [id], 60_000);
  return { w, t: w.tasks![0] };
}

describe("exec worker, one process per task (real Conductor)", () => {
  const name = uniqueName("exec_pt");
  let wf: string;
  it("completes with the program's output; stderr, logs and the contract's environment reach the task", async () => {
    wf = await defineExecWorkflow(client, name);
    await worker(name, spec("python3", ["misbehave.py"]), { concurrency: 3 });
    const { w, t } = await one(wf, { do: "env" });
    assert.equal(w.status, "COMPLETED");
    assert.deepEqual(
      { ...t.outputData, inputSize: undefined },
      {
        TASK_TYPE: name,
        TASK_ID: t.taskId,
        WORKFLOW_ID: w.workflowId,
        EXECUTION_ID: w.workflowId,
        POLL_DOMAIN: null,
        CONDUCTOR_AUTH_SECRET: null,
        cwd: fixtures,
        inputSize: undefined,
      },
    );
  });

  it("a non-zero exit is FAILED with the exit code and the last lines of stdout and stderr; stderr is in the task's log", async () => {
    const { w, t } = await one(wf, { do: "exit1" });
    assert.equal(w.status, "FAILED");
    assert.equal(t.status, "FAILED");
    assert.equal(t.reasonForIncompletion, "python3 misbehave.py exited with code 1; last stdout: partial output; last stderr: something broke");
    const logs = await client.getTaskLogs(t.taskId);
    assert.ok(
      logs.some((l) => l.log === "something broke"),
      JSON.stringify(logs),
    );
  });

  it("garbage on stdout is FAILED quoting the parse error and the output", async () => {
    const { t } = await one(wf, { do: "garbage" });
    assert.equal(t.status, "FAILED");
    assert.match(
      String(t.reasonForIncompletion),
      /^python3 misbehave\.py printed invalid JSON on stdout \(.+\): print exactly one JSON object like .*; last stdout: this is not json \{$/,
    );
  });

  it("nothing on stdout, and an unknown status, are FAILED saying what is expected", async () => {
    const empty = await one(wf, { do: "empty" });
    assert.equal(empty.t.status, "FAILED");
    assert.match(String(empty.t.reasonForIncompletion), /exited with code 0 but printed nothing on stdout/);
    const unknown = await one(wf, { do: "unknown_status" });
    assert.equal(unknown.t.status, "FAILED");
    assert.match(String(unknown.t.reasonForIncompletion), /unknown status "DONE": expected one of COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR, IN_PROGRESS/);
  });

  it("FAILED_WITH_TERMINAL_ERROR is not retried and keeps the reason, output and logs", async () => {
    const tname = uniqueName("exec_term");
    const twf = await defineExecWorkflow(client, tname, { retryCount: 2 });
    await worker(tname, spec("python3", ["misbehave.py"]));
    const { w, t } = await one(twf, { do: "terminal" });
    assert.equal(w.status, "FAILED");
    assert.equal(w.tasks!.length, 1, "no retry");
    assert.equal(t.status, "FAILED_WITH_TERMINAL_ERROR");
    assert.equal(t.reasonForIncompletion, "bad input: no text");
    assert.deepEqual(t.outputData, { field: "text" });
    const logs = await client.getTaskLogs(t.taskId);
    assert.deepEqual(
      logs.map((l) => l.log),
      ["checked the input"],
    );
  });

  it("FAILED is retried by Conductor; IN_PROGRESS is called back and then completes", async () => {
    const rname = uniqueName("exec_retry");
    const rwf = await defineExecWorkflow(client, rname, { retryCount: 1, retryDelaySeconds: 0 });
    await worker(rname, spec("python3", ["misbehave.py"]));
    const failed = await one(rwf, { do: "failed" });
    assert.equal(failed.w.status, "FAILED");
    assert.deepEqual(
      failed.w.tasks!.map((t) => [t.status, t.reasonForIncompletion]),
      [
        ["FAILED", "try again later"],
        ["FAILED", "try again later"],
      ],
    );
    const cb = await one(rwf, { do: "in_progress" });
    assert.equal(cb.w.status, "COMPLETED");
    assert.equal((cb.t.outputData as { step: number }).step, 2);
  });

  it("a program that runs past --exec-timeout is FAILED and its whole process group is killed", async () => {
    const sname = uniqueName("exec_slow");
    const swf = await defineExecWorkflow(client, sname);
    await worker(sname, spec("python3", ["misbehave.py"]), { execTimeoutSeconds: 3 });
    const pidfile = path.join(tempStateDir(), "pids");
    const { w, t } = await one(swf, { do: "sleep", pidfile });
    assert.equal(w.status, "FAILED");
    assert.equal(t.reasonForIncompletion, "execution timed out after 3s");
    const pids = readFileSync(pidfile, "utf8").split(" ").map(Number);
    assert.equal(pids.length, 2);
    await until(() => pids.every(gone), 10_000, `processes ${pids.join(", ")} to be gone`);
  });

  it("a program that ignores SIGTERM is SIGKILLed after the kill grace delay", async () => {
    const kname = uniqueName("exec_stubborn");
    const kwf = await defineExecWorkflow(client, kname);
    await worker(kname, spec("python3", ["misbehave.py"], { killGraceMs: 1000 }), { execTimeoutSeconds: 3 });
    const pidfile = path.join(tempStateDir(), "pid");
    const { t } = await one(kwf, { do: "stubborn", pidfile });
    assert.equal(t.reasonForIncompletion, "execution timed out after 3s");
    const pid = Number(readFileSync(pidfile, "utf8"));
    await until(() => gone(pid), 10_000, `stubborn process ${pid} to be killed`);
  });

  it("a 5 MB output completes (inline on the local server; a server with default settings moves it to external storage)", async () => {
    const bname = uniqueName("exec_big");
    const bwf = await defineExecWorkflow(client, bname);
    await worker(bname, spec("python3", ["misbehave.py"]));
    const bytes = 5 * 1024 * 1024;
    const { w, t } = await one(bwf, { do: "big", bytes });
    assert.equal(w.status, "COMPLETED", String(t.reasonForIncompletion));
    assert.equal(t.status, "COMPLETED");
    const stored = t.outputData as { blob?: string; size?: number };
    if (stored.blob !== undefined) assert.equal(stored.blob.length, bytes);
    else assert.ok(t.externalOutputPayloadStoragePath, `the output was neither inline nor external: ${JSON.stringify(t).slice(0, 300)}`);
    const logs = await client.getTaskLogs(t.taskId);
    assert.ok(logs.some((l) => l.log === `writing ${bytes} bytes`));
  });

  it("a 2 MB input reaches the program on stdin", async () => {
    const blob = "z".repeat(2 * 1024 * 1024);
    const { w, t } = await one(wf, { do: "env", blob });
    assert.equal(w.status, "COMPLETED");
    assert.ok((t.outputData as { inputSize: number }).inputSize > blob.length);
  });
});

describe("exec worker, persistent JSON-lines mode (real Conductor)", () => {
  it("one process serves many tasks; a crash or garbage fails only its task and the process is replaced", async () => {
    const name = uniqueName("exec_lines");
    const wf = await defineExecWorkflow(client, name);
    await worker(name, spec("python3", ["misbehave_lines.py"], { mode: "lines" }));

    const a = await one(wf, {});
    const b = await one(wf, {});
    const oa = a.t.outputData as { pid: number; served: number; taskType: string };
    const ob = b.t.outputData as { pid: number; served: number };
    assert.equal(a.w.status, "COMPLETED");
    assert.equal(oa.taskType, name);
    assert.equal(ob.pid, oa.pid, "the same process served both");
    assert.equal(ob.served, oa.served + 1);

    const crash = await one(wf, { do: "crash" });
    assert.equal(crash.t.status, "FAILED");
    assert.match(
      String(crash.t.reasonForIncompletion),
      /^python3 misbehave_lines\.py \(persistent\) exited with code 3 while running the task; a new process takes the next task; last stderr: pid \d+ serving task 3$/,
    );
    assert.ok(gone(oa.pid));

    const c = await one(wf, {});
    const oc = c.t.outputData as { pid: number; served: number };
    assert.equal(c.w.status, "COMPLETED");
    assert.notEqual(oc.pid, oa.pid, "a new process after the crash");
    assert.equal(oc.served, 1);

    const garbage = await one(wf, { do: "garbage" });
    assert.equal(garbage.t.status, "FAILED");
    assert.match(String(garbage.t.reasonForIncompletion), /answered garbage while running the task: "garbage, not json" is not JSON/);
    await until(() => gone(oc.pid), 10_000, "the garbage process to be killed");
    const logs = await client.getTaskLogs(garbage.t.taskId);
    assert.ok(
      logs.some((l) => l.log === `pid ${oc.pid} serving task 2`),
      "stderr went to the task's log",
    );

    const wrong = await one(wf, { do: "wrong_id" });
    assert.equal(wrong.t.status, "FAILED");
    assert.match(String(wrong.t.reasonForIncompletion), /carries taskId "someone-else"/);

    const term = await one(wf, { do: "terminal" });
    assert.equal(term.t.status, "FAILED_WITH_TERMINAL_ERROR");
    assert.equal(term.t.reasonForIncompletion, "refused");

    const d = await one(wf, { do: "big", bytes: 4 * 1024 * 1024 });
    assert.equal(d.t.status, "COMPLETED");
  });

  it("an execution timeout kills the process; the next task gets a new one; stop() ends the idle processes", async () => {
    const name = uniqueName("exec_lines_to");
    const wf = await defineExecWorkflow(client, name);
    const run = await worker(name, spec("python3", ["misbehave_lines.py"], { mode: "lines" }), { execTimeoutSeconds: 4, concurrency: 2 });
    const first = await one(wf, {});
    const pid1 = (first.t.outputData as { pid: number }).pid;
    const slow = await one(wf, { do: "sleep" });
    assert.equal(slow.t.reasonForIncompletion, "execution timed out after 4s");
    const next = await one(wf, {});
    const pid2 = (next.t.outputData as { pid: number }).pid;
    assert.equal(next.w.status, "COMPLETED", next.t.reasonForIncompletion);
    await until(() => gone(pid1) || pid1 === pid2, 10_000, "the timed-out process to be killed");
    await run.stop();
    await until(() => gone(pid2), 10_000, "the idle process to end at stop");
  });
});
