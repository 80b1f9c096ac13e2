/**
 * What a finished task leaves behind for the GC: every task's objects must die young, and minor
 * GCs must promote (almost) nothing of them into the old space, where only a full GC frees them.
 * Each case runs a fixture in a child process under --trace-gc-nvp and counts the bytes the
 * minor GCs between its "BEGIN" and "END" lines promoted.
 *
 * - One execution after another: an object literal with a getter (a `ctx.signal` getter, an
 *   Execution's `timedOut`) gets a map of its own in V8's old space each time, whose pointer to
 *   the young getter kept the whole execution (task, context, result) alive through every minor
 *   GC: about 10 KB per task promoted.
 * - A busy worker, whole (50 slots, both result protocols, against an HTTP double): entries added
 *   and removed per task in a long-lived Map, Set or EventTarget kept every task's objects alive
 *   through minor GCs once one dead table or listener had reached the old space
 *   (src/runtime/in-flight.ts): about 5.4 KB per task promoted by POST /tasks, 1.8 KB by update-v2.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { it } from "node:test";

const executions = path.join(import.meta.dirname, "../fixtures/runtime/executions.ts");
const busyWorker = path.join(import.meta.dirname, "../fixtures/runtime/busy-worker.ts");

/** Bytes the minor GCs promoted per task between the fixture's BEGIN and END lines. */
function promotedPerTask(fixture: string, args: string[], n: number, env: NodeJS.ProcessEnv = process.env): { perTask: number; scavenges: number } {
  const r = spawnSync(process.execPath, [...process.execArgv, "--trace-gc-nvp", fixture, String(n), ...args], { encoding: "utf8", timeout: 120_000, env });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.ok(lines.includes("BEGIN") && lines.includes("END"), `the fixture did not run:\n${r.stdout.slice(-2000)}\n${r.stderr}`);
  const window = lines.slice(lines.indexOf("BEGIN") + 1, lines.indexOf("END"));
  const scavenges = window.filter((l) => / gc=s /.test(l));
  assert.ok(scavenges.length >= 3, `expected several minor GCs in the window (allocation goes on), saw ${scavenges.length}`);
  const promoted = scavenges.reduce((sum, l) => sum + Number(/ promoted=(\d+)/.exec(l)?.[1] ?? 0), 0);
  return { perTask: promoted / n, scavenges: scavenges.length };
}

it("executions die young: minor GCs promote (almost) nothing of them into the old space", () => {
  const { perTask, scavenges } = promotedPerTask(executions, [], 20_000);
  // Measured: about 8,000 bytes per execution before the fix, about 400 after it.
  assert.ok(perTask < 1500, `minor GCs promoted ${perTask.toFixed(0)} bytes per execution (${scavenges} scavenges)`);
});

for (const protocol of ["post", "update-v2"]) {
  it(`a busy worker's tasks die young (50 slots, ${protocol}): minor GCs promote (almost) nothing of them`, () => {
    const { perTask, scavenges } = promotedPerTask(busyWorker, ["50"], 10_000, { ...process.env, IDFLOW_RESULT_PROTOCOL: protocol });
    // Measured: about 5,400 bytes per task with POST /tasks and 1,800 with update-v2 before the fix, about 500 and 430 after it.
    assert.ok(perTask < 1000, `minor GCs promoted ${perTask.toFixed(0)} bytes per task (${scavenges} scavenges)`);
  });
}
