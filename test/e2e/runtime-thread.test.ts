/** isolation "thread" against the real Conductor: results, logs and errors cross the thread; CPU work does not stall other workers; a timeout really stops the thread. */
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, afterEach, before, describe, it } from "node:test";
import { testClient, uniqueName } from "../support/conductor.ts";
import { discover } from "../../src/discovery/discover.ts";
import { runWorkers, type WorkerRun } from "../../src/runtime/handler.ts";
import type { Registration } from "../../src/task/registration.ts";
import { defineTaskAndWorkflow, delay, reg, startMany, tempStateDir, testLogger, until, waitAll } from "../fixtures/runtime/helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.resolve(here, "../fixtures/runtime/thread-project");
const client = testClient();
const runs: WorkerRun[] = [];
async function run(registrations: Registration[]) {
  const r = await runWorkers({ client, registrations, stateDir: tempStateDir(), handleSignals: false, shutdownGraceMs: 3000, logger: testLogger() });
  runs.push(r);
  return r;
}
// Tests share task names (the fixture's): stop each test's workers before the next begins.
afterEach(async () => {
  await Promise.all(runs.splice(0).map((r) => r.stop()));
});
after(() => client.close());

// The fixture tasks take their names from the environment (the threads inherit it), so every run is unique.
const names = { info: uniqueName("rt_th_info"), crash: uniqueName("rt_th_crash"), spin: uniqueName("rt_th_spin"), forever: uniqueName("rt_th_forever") };
const regs = new Map<string, Registration>();
before(async () => {
  process.env.RT_THREAD_INFO_NAME = names.info;
  process.env.RT_THREAD_CRASH_NAME = names.crash;
  process.env.RT_THREAD_SPIN_NAME = names.spin;
  process.env.RT_THREAD_FOREVER_NAME = names.forever;
  const found = await discover({ root: project });
  assert.deepEqual(found.errors, []);
  for (const r of found.registrations) regs.set(r.name, r);
  for (const n of Object.values(names)) assert.equal(regs.get(n)?.options.isolation, "thread", n);
});

/** A one-task workflow `<task>_wf` that passes `n` and `fail`. */
async function failWorkflow(task: string): Promise<string> {
  const wf = await defineTaskAndWorkflow(client, task);
  await client.upsertWorkflowDefs([
    {
      name: wf,
      version: 1,
      schemaVersion: 2,
      ownerEmail: "test@idflow.dev",
      tasks: [{ name: task, taskReferenceName: "t", type: "SIMPLE", inputParameters: { n: "${workflow.input.n}", fail: "${workflow.input.fail}" } }],
    },
  ]);
  return wf;
}

describe("runtime isolation: thread (real Conductor)", () => {
  it("runs the function in a worker thread: output, ctx.log lines and COMPLETED reach Conductor; errors map as in-process", async () => {
    const wf = await failWorkflow(names.info);
    await run([regs.get(names.info)!]);
    const ok = await client.startWorkflow(wf, { n: 21 });
    const failed = await client.startWorkflow(wf, { n: 1, fail: "error" });
    const terminal = await client.startWorkflow(wf, { n: 2, fail: "terminal" });
    const [w, f, t] = await waitAll(client, [ok, failed, terminal], 30_000);

    assert.equal(w.status, "COMPLETED", w.reasonForIncompletion);
    const out = w.tasks![0].outputData as { isMainThread: boolean; threadId: number; doubled: number; sameCtx: boolean };
    assert.equal(out.isMainThread, false, "ran off the main thread");
    assert.ok(out.threadId > 0, `threadId ${out.threadId}`);
    assert.equal(out.doubled, 42);
    assert.equal(out.sameCtx, true, "getCurrentContext() inside the thread is the task's context");
    const logs = (await client.getTaskLogs(w.tasks![0].taskId)).map((l) => l.log);
    assert.ok(logs.includes(`in thread ${out.threadId}`) && logs.includes("n=21"), JSON.stringify(logs));

    assert.equal(f.status, "FAILED");
    assert.equal(f.tasks![0].status, "FAILED");
    assert.equal(f.tasks![0].reasonForIncompletion, "boom 1");
    const flogs = (await client.getTaskLogs(f.tasks![0].taskId)).map((l) => l.log);
    assert.ok(flogs.includes("n=1"), "lines logged before the throw are kept");
    assert.ok(
      flogs.some((l) => l.startsWith("Error: boom 1") && l.includes("rt_thread_info.ts")),
      `the thread's stack is in the log: ${JSON.stringify(flogs)}`,
    );

    assert.equal(t.status, "FAILED");
    assert.equal(t.tasks?.length, 1, "no retry");
    assert.equal(t.tasks![0].status, "FAILED_WITH_TERMINAL_ERROR");
    assert.equal(t.tasks![0].reasonForIncompletion, "bad input 2");
    assert.deepEqual(t.tasks![0].outputData, { field: "n" });
  });

  it("a thread that crashes before it answers fails the task with the cause; one that crashes after answering is not reused", async () => {
    const wf = await failWorkflow(names.crash);
    const r = await run([regs.get(names.crash)!]);
    const [c] = await waitAll(client, [await client.startWorkflow(wf, { n: 3, fail: "before" })], 30_000);
    assert.equal(c.tasks![0].status, "FAILED");
    assert.match(c.tasks![0].reasonForIncompletion ?? "", /^the task thread exited \(code 1\) before it answered: crash 3$/);
    const clogs = (await client.getTaskLogs(c.tasks![0].taskId)).map((l) => l.log);
    assert.ok(
      clogs.some((l) => l.includes("crash 3") && l.includes("rt_thread_crash.ts")),
      `the crash's stack is in the log: ${JSON.stringify(clogs)}`,
    );

    const [l] = await waitAll(client, [await client.startWorkflow(wf, { n: 4, fail: "after" })], 30_000);
    assert.equal(l.status, "COMPLETED", "answered before its thread crashed");
    await delay(300); // the thread is dead now, but was handed back to the pool first
    const t0 = Date.now();
    const [ok] = await waitAll(client, [await client.startWorkflow(wf, { n: 5 })], 30_000);
    assert.equal(ok.status, "COMPLETED", `${ok.tasks?.[0]?.reasonForIncompletion} after ${Date.now() - t0} ms`);
    assert.notEqual((ok.tasks![0].outputData as { threadId: number }).threadId, (l.tasks![0].outputData as { threadId: number }).threadId, "a fresh thread");
    const s = r.stats().workers[names.crash];
    assert.deepEqual([s.completed, s.failed], [2, 1]);
  });

  it("a CPU-bound thread task (3 s busy loop) does not stall another worker in the same process", async () => {
    const spinWf = await defineTaskAndWorkflow(client, names.spin);
    const quick = uniqueName("rt_th_quick");
    const quickWf = await defineTaskAndWorkflow(client, quick);
    const ran: number[] = [];
    await run([
      regs.get(names.spin)!,
      reg(
        quick,
        async () => {
          ran.push(Date.now());
          return { at: Date.now() };
        },
        { concurrency: 2 },
      ),
    ]);

    const [spinId] = await startMany(client, spinWf, 1, { ms: 3000 });
    await until(async () => (await client.getWorkflow(spinId, true)).tasks?.[0]?.status === "IN_PROGRESS", 15_000, "the spin task to start");
    // Keep feeding the quick worker for as long as the spin runs.
    const quickIds: string[] = [];
    let spinDone = false;
    const feeding = (async () => {
      while (!spinDone && quickIds.length < 60) {
        quickIds.push(await client.startWorkflow(quickWf, { n: quickIds.length }));
        await delay(150);
      }
    })();
    const [spin] = await waitAll(client, [spinId], 30_000);
    spinDone = true;
    await feeding;
    // Not waiting for every quick workflow: under this load the SQLite server now and then drops a
    // queue message ("database is locked"), leaving a task SCHEDULED that nobody can poll.

    assert.equal(spin.status, "COMPLETED", spin.reasonForIncompletion);
    const { start, end, threadId } = spin.tasks![0].outputData as { start: number; end: number; threadId: number };
    assert.ok(threadId > 0);
    assert.ok(end - start >= 3000, `spun ${end - start} ms`);
    // Leave the thread's start-up and the last poll out of the window.
    const during = ran.filter((at) => at > start + 300 && at < end - 300);
    assert.ok(during.length >= 5, `quick tasks completed while the CPU task spun: ${during.length} (of ${ran.length})`);
    const gaps = during.slice(1).map((at, i) => at - during[i]);
    assert.ok(Math.max(...gaps) < 1500, `longest pause of the quick worker during the spin: ${Math.max(...gaps)} ms`);
  });

  it("execTimeoutSeconds on a thread task that loops forever: FAILED with the reason, the thread is terminated and the next task runs", async () => {
    const wf = await defineTaskAndWorkflow(client, names.forever);
    await run([regs.get(names.forever)!]);
    const [id] = await startMany(client, wf, 1);
    const t0 = Date.now();
    const [w] = await waitAll(client, [id], 30_000);
    assert.equal(w.status, "FAILED");
    assert.equal(w.tasks![0].status, "FAILED");
    assert.equal(w.tasks![0].reasonForIncompletion, "execution timed out after 2s");
    assert.ok(Date.now() - t0 < 10_000, `reported after ${Date.now() - t0} ms`);

    // A thread still spinning would burn a whole core; a terminated one burns nothing.
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await delay(1500);
    const cpu = process.cpuUsage(cpu0);
    const share = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
    assert.ok(share < 0.5, `process CPU after the timeout: ${(share * 100).toFixed(0)}% of a core`);

    // The slot is free again: the next task (with an end) runs in a fresh thread and completes.
    const [next] = await startMany(client, wf, 1, { ms: 200 });
    const [n] = await waitAll(client, [next], 30_000);
    assert.equal(n.status, "COMPLETED", n.reasonForIncompletion);
    assert.ok((n.tasks![0].outputData as { threadId: number }).threadId > 0);
  });
});
