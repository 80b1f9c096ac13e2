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
 * - The task's context with its four methods made as closures in its constructor: on Node 24 (not
 *   on Node 20) that kept every task's objects alive through two minor GCs, about 1.7 KB per task
 *   promoted with either protocol; they are made on first use now. Run this file on Node 24 too.
 * - A task whose result waits for Conductor's answer (a whole round trip of a loaded server): the
 *   poller held the task, and the poll's whole batch, until that answer and the next poll's. Such
 *   a task outlived the young generation, and a batch of tasks with large inputs held them all.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { it } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import { ConductorClient } from "../../src/conductor/client.ts";
import { silentLogger } from "../../src/log.ts";
import { runWorkers } from "../../src/runtime/handler.ts";
import { conductorTask } from "../support/conductor-task.ts";
import { HttpDouble } from "../support/http-double.ts";
import { reg, tempStateDir, until } from "../fixtures/runtime/helpers.ts";

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

it("a task is let go once its result is written: neither Conductor's answer nor the next poll's holds it or its batch", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const name = "let_go";
  const double = await HttpDouble.start();
  let release!: () => void;
  const answered = new Promise<void>((resolve) => (release = resolve));
  let handedOut = false;
  const task = (i: number) => conductorTask(name, { taskId: `t${i}`, workflowInstanceId: `w${i}`, inputData: { i, blob: "x".repeat(1 << 16) } });
  // One batch of two tasks for two slots; the results' answers wait until the test has looked.
  double.on("GET", /^\/api\/tasks\/poll\/batch\//, () => {
    if (handedOut) return { json: [], delayMs: 20 };
    handedOut = true;
    return { json: [task(1), task(2)] };
  });
  double.on("POST", "/api/tasks", async (req) => {
    await answered;
    return { text: (req.json as { taskId: string }).taskId };
  });
  double.on("POST", "/api/tasks/update-v2", async () => {
    await answered;
    return { status: 204 };
  });
  const inputs: Array<WeakRef<object>> = [];
  const run = await runWorkers({
    client: new ConductorClient({ serverUrl: double.url }),
    stateDir: tempStateDir(),
    handleSignals: false,
    logger: silentLogger(),
    registrations: [
      reg(
        name,
        (input) => {
          inputs.push(new WeakRef(input));
          return {};
        },
        { concurrency: 2, pollIntervalMs: 10, pollTimeoutMs: 10 },
      ),
    ],
  });
  try {
    // Both results are sent and unanswered: both slots are taken, the poller waits for one.
    const sent = () => double.requests.filter((r) => r.method === "POST" && r.path.startsWith("/api/tasks")).length;
    await until(() => sent() === 2, 10_000, "both results sent");
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    assert.equal(inputs.length, 2);
    assert.deepEqual(
      inputs.map((r) => r.deref() === undefined),
      [true, true],
      "a task's input was still reachable while its result waited for Conductor's answer",
    );
  } finally {
    release();
    await run.stop();
    await double.close();
  }
});
