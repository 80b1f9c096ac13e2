/**
 * Recovery against a real Conductor that dies: this file runs its OWN server (not the shared
 * one), SIGKILLs it mid-run, restarts it on the same SQLite file and port, and checks that the
 * worker recovers by itself, delivers the results computed while it was down, and that a worker
 * stopped while the server is down spools its results for the next start.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
import { freePort, startLocalServer, stopLocalServer } from "../../src/server/index.ts";
import { runWorkers } from "../../src/runtime/handler.ts";
import { spoolDir } from "../../src/runtime/spool.ts";
import { uniqueName } from "../support/conductor.ts";
import { defineTaskAndWorkflow, delay, reg, startMany, taskStatuses, tempStateDir, until, waitAll, testLogger } from "../fixtures/runtime/helpers.ts";

const serverDir = tempStateDir();
let port = 0;
let pid = 0;
let client: ConductorClient;

async function boot(): Promise<void> {
  const r = await startLocalServer({ stateDir: serverDir, port, heap: "512m", jar: process.env.IDFLOW_CONDUCTOR_JAR });
  pid = r.state.pid;
  port = r.state.port;
}
function kill(): void {
  process.kill(pid, "SIGKILL");
}

before(async () => {
  port = await freePort();
  await boot();
  // A freshly restarted JVM on a loaded machine can take seconds to answer its first reads.
  client = new ConductorClient({ serverUrl: `http://127.0.0.1:${port}`, timeoutMs: 20_000 });
});
after(async () => {
  client?.close();
  await stopLocalServer({ stateDir: serverDir }).catch(() => {});
});

describe("runtime recovery (own server, SIGKILLed and restarted)", { timeout: 590_000 }, () => {
  it("recovers by itself after a server kill; results computed while it was down are delivered; every workflow completes", async () => {
    const name = uniqueName("rt_kill");
    // A poll or update-v2 answer that the dying server never sent hands out a task nobody runs:
    // Conductor re-dispatches it after responseTimeoutSeconds. That timeout must outlast the
    // server's restart: a restarted server's sweeper times out, at once, every task handed out
    // longer ago than that, results computed meanwhile included (seen with 10 s while a loaded
    // machine took 20-60 s to restart the JVM, and once with 60 s: 3.32 on JDK 25 in CI, where
    // this test took twice its usual time). 120 s outlasts a restart; a task handed out in an
    // answer that was never sent does not wait for it (the operator below fails it after 10 s).
    const wf = await defineTaskAndWorkflow(client, name, { responseTimeoutSeconds: 120, retryCount: 4 });
    const ids = await startMany(client, wf, 30);
    let ran = 0;
    const ranIds = new Set<string>();
    const run = await runWorkers({
      client,
      stateDir: tempStateDir(),
      handleSignals: false,
      logger: testLogger(),
      backoff: { baseMs: 100, capMs: 1000 },
      registrations: [
        reg(
          name,
          async (i: { n: number }, ctx) => {
            await delay(400);
            ran++;
            ranIds.add(ctx.taskId);
            return { n: i.n };
          },
          { concurrency: 5 },
        ),
      ],
    });
    const lastAnswerOk = new Map<string, boolean>();
    run.events.on("delivery:attempt", (e) => lastAnswerOk.set(e.taskId, e.ok));
    const startedIds = new Set<string>();
    run.events.on("task:started", (e) => startedIds.add(e.taskId));
    await until(() => ran >= 5, 30_000, "some tasks done");
    kill();
    await until(() => run.stats().delivery.backlog > 0, 10_000, "results waiting while the server is down");
    await delay(1000);
    const restartStarted = Date.now();
    await boot();
    const restartSeconds = ((Date.now() - restartStarted) / 1000).toFixed(1);
    // The SIGKILLed 3.21.14 server can lose its own bookkeeping: a queue message (a task left
    // SCHEDULED with pollCount 0) or the revisit that times out a task it handed out in an answer
    // it never sent (left IN_PROGRESS). Its sweeper reaches each workflow once with SQLite
    // (docs/conductor-behaviour.md), so the test does what an operator does after a crash: it
    // asks the server to repair its queues and sweep the unfinished workflows again, every 5 s.
    // This measures the worker, not the server's crash durability.
    // A task the dead server handed out in an answer it never sent (IN_PROGRESS, never started
    // here) is failed the way its response timeout would have, so Conductor retries it.
    // A queue message the dead server popped in its last moments, for a task it never marked as
    // polled (SCHEDULED, pollCount 0), stays popped for good on 3.21.14 with SQLite
    // (processAllUnacks never brings it back, docs/conductor-behaviour.md), and verifyAndRepair
    // leaves it, since the message exists. Seen once in CI. When every unfinished task is such a
    // one (no task of this worker under way, which a requeue would hand out twice), the operator
    // requeues the task type: the server removes each pending task's message and pushes it again.
    const base = `http://127.0.0.1:${port}/api/admin`;
    const mend = setInterval(() => {
      void (async () => {
        let stuck = 0;
        let other = 0;
        for (const id of ids) {
          const w = await client.getWorkflow(id, true).catch(() => undefined);
          if (w?.status !== "RUNNING") continue;
          await fetch(`${base}/consistency/verifyAndRepair/${id}`, { method: "POST" }).catch(() => {});
          for (const t of w.tasks ?? []) {
            if (t.status === "SCHEDULED" && !t.pollCount && Date.now() - Number(t.scheduledTime ?? 0) > 20_000) stuck++;
            else if (t.status === "SCHEDULED" || t.status === "IN_PROGRESS") other++;
            if (t.status !== "IN_PROGRESS" || startedIds.has(t.taskId) || Date.now() - Number(t.updateTime ?? t.startTime ?? 0) < 10_000) continue;
            await client
              .updateTask({
                taskId: t.taskId,
                workflowInstanceId: id,
                workerId: "test-operator",
                status: "FAILED",
                reasonForIncompletion: "handed out by the killed server in an answer it never sent",
              })
              .catch(() => {});
          }
        }
        if (stuck > 0 && other === 0 && Date.now() - restartStarted > 20_000)
          await fetch(`http://127.0.0.1:${port}/api/tasks/queue/requeue/${encodeURIComponent(name)}`, { method: "POST" }).catch(() => {});
      })();
    }, 5000);
    let done: Awaited<ReturnType<typeof waitAll>>;
    try {
      done = await waitAll(client, ids, 150_000);
    } finally {
      clearInterval(mend);
      await run.stop();
    }
    assert.deepEqual(
      done.map((w) => w.status),
      ids.map(() => "COMPLETED"),
    );
    // Every result this worker computed reached the server: its last answer was a success and the
    // task is COMPLETED. A retry (a second attempt) exists only for a task this worker never
    // received: the dying server handed it out in an answer it never sent.
    for (const w of done) {
      for (const t of w.tasks ?? []) {
        if (ranIds.has(t.taskId)) {
          assert.equal(
            t.status,
            "COMPLETED",
            `task ${t.taskId} ran here (the server took ${restartSeconds} s to restart; last answer ok: ${lastAnswerOk.get(t.taskId)})`,
          );
          assert.equal(lastAnswerOk.get(t.taskId), true, `last answer for ${t.taskId}`);
        } else assert.notEqual(t.status, "COMPLETED", `task ${t.taskId} completed without this worker`);
      }
      const last = w.tasks!.at(-1)!;
      assert.ok(ranIds.has(last.taskId));
      if (last.retryCount !== 0)
        assert.ok(
          w.tasks!.slice(0, -1).every((t) => !ranIds.has(t.taskId)),
          `workflow ${w.workflowId} retried a task whose result was computed here: ${w.tasks!.map((t) => `${t.taskId} ${t.status} retry ${t.retryCount} polls ${t.pollCount} ran here ${ranIds.has(t.taskId)} last answer ok ${lastAnswerOk.get(t.taskId)} reason ${t.reasonForIncompletion ?? "-"}`).join("; ")}`,
        );
    }
    const s = await run.stop();
    assert.ok(s.delivery.retried > 0, "some results went through the backlog");
    assert.equal(s.delivery.backlog, 0);
    assert.equal(s.spooled, 0);
  });

  it("a worker stopped while the server is down spools its results; the next start delivers them first", async () => {
    const name = uniqueName("rt_spool");
    // No retries: the spooled results themselves must complete the tasks. The response timeout
    // outlasts a server restart on a loaded machine (30-60 s), so the tasks are still waiting.
    const wf = await defineTaskAndWorkflow(client, name, { responseTimeoutSeconds: 300 });
    const ids = await startMany(client, wf, 3);
    const stateDir = tempStateDir();
    let running = 0;
    const fn = async (i: { n: number }) => {
      running++;
      await delay(1500);
      return { n: i.n };
    };
    const first = await runWorkers({
      client,
      stateDir,
      handleSignals: false,
      logger: testLogger(),
      finalDeliveryMs: 1000,
      backoff: { baseMs: 100, capMs: 500 },
      registrations: [reg(name, fn, { concurrency: 3 })],
    });
    await until(() => running >= 3, 30_000, "3 tasks in flight");
    kill();
    const s1 = await first.stop();
    assert.equal(s1.spooled, 3);
    assert.equal(s1.aborted, 0);
    assert.ok(
      readdirSync(spoolDir(stateDir)).some((f) => f.startsWith("wal-")),
      "the results stay in the spool",
    );
    await boot();
    const second = await runWorkers({ client, stateDir, handleSignals: false, logger: testLogger(), registrations: [reg(name, fn, { concurrency: 3 })] });
    const lastAnswerOk = new Map<string, boolean>();
    second.events.on("delivery:attempt", (e) => lastAnswerOk.set(e.taskId, e.ok));
    const done = await waitAll(client, ids, 60_000);
    assert.deepEqual(
      done.map((w) => w.status),
      ["COMPLETED", "COMPLETED", "COMPLETED"],
    );
    // Exactly one attempt per task on the server, completed by the spooled result.
    assert.deepEqual(
      done.map((w) => w.tasks?.map((t) => t.retryCount)),
      [[0], [0], [0]],
    );
    for (const w of done) assert.equal(lastAnswerOk.get(w.tasks![0].taskId), true);
    assert.deepEqual(
      done.map((w) => w.tasks?.[0].outputData),
      [{ n: 0 }, { n: 1 }, { n: 2 }],
    );
    const s2 = await second.stop();
    assert.equal(s2.delivery.recovered, 3);
    assert.ok(!existsSync(spoolDir(stateDir)) || readdirSync(spoolDir(stateDir)).filter((f) => f.startsWith("wal-")).length === 0, "the spool is consumed");
    assert.ok(!(await taskStatuses(client, ids)).includes("IN_PROGRESS"));
  });
});
