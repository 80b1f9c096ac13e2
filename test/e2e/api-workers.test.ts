/**
 * The programmatic API against the real Conductor: createWorkers with functions given in code,
 * updatePollingOptions while running (more slots run more tasks at once; fewer lose none), stop()
 * with the SIGTERM drain and no signal handlers installed; the WorkflowClient finishes tasks by id
 * and by reference name.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient, createWorkers, TaskNotFoundError, workerTask } from "../../src/index.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";
import { defineTaskAndWorkflow, delay, startMany, tempStateDir, until, waitAll } from "../fixtures/runtime/helpers.ts";

test("updatePollingOptions raises concurrency under load (more tasks run at once) and lowers it without losing a task", async () => {
  const client = testClient();
  const name = uniqueName("api_conc");
  const wf = await defineTaskAndWorkflow(client, name);
  let running = 0;
  let maxRunning = 0;
  const runs = new Map<number, number>();
  const fn = workerTask({ name, concurrency: 1, pollIntervalMs: 50, pollTimeoutMs: 200 })(async (input: { n: number }) => {
    runs.set(input.n, (runs.get(input.n) ?? 0) + 1);
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await delay(400);
      return { n: input.n };
    } finally {
      running--;
    }
  });
  const sigtermBefore = process.listenerCount("SIGTERM");
  const workers = await createWorkers({ tasks: [fn], server: { url: testServerUrl() }, logger: false, stateDir: tempStateDir() });
  assert.equal(process.listenerCount("SIGTERM"), sigtermBefore, "no signal handler unless asked");
  assert.equal(workers.isPolling(), true);
  const finished: string[] = [];
  workers.events.on("task:finished", (e) => finished.push(e.status));

  const ids = await startMany(client, wf, 24);
  await until(() => running === 1, 20_000, "the first task running");
  await delay(600);
  assert.equal(maxRunning, 1, "concurrency 1 runs one task at a time");

  const now = workers.updatePollingOptions(name, { concurrency: 4 });
  assert.equal(now[0].concurrency, 4);
  await until(() => running === 4, 20_000, "four tasks running at once after raising concurrency to 4");

  workers.updatePollingOptions("*", { concurrency: 1 });
  await until(() => running <= 1, 20_000, "the extra slots given up as their tasks finish");
  maxRunning = running;
  await delay(1000);
  assert.ok(maxRunning <= 1, `after lowering to 1, at most one task at a time (saw ${maxRunning})`);

  workers.updatePollingOptions(name, { concurrency: 6 });
  const done = await waitAll(client, ids, 90_000);
  assert.deepEqual(
    done.map((w) => w.status),
    ids.map(() => "COMPLETED"),
    "no task lost",
  );
  assert.deepEqual(
    [...runs.keys()].sort((a, b) => a - b),
    ids.map((_, i) => i),
    "every task ran",
  );
  assert.ok(
    [...runs.values()].every((n) => n === 1),
    "each task ran once",
  );
  assert.equal(workers.stats().workers[name].maxInFlight, 6);
  assert.equal(finished.filter((s) => s === "COMPLETED").length, ids.length);

  // Paused: no new task is taken (and isPolling says so); resumed: it runs.
  workers.updatePollingOptions("*", { paused: true });
  assert.equal(workers.isPolling(), false);
  await delay(600); // a long poll already under way (200 ms) may still bring a task: that one is ours to run
  const [held] = await startMany(client, wf, 1, { n: 1000 });
  await delay(1500);
  assert.equal((await client.getWorkflow(held, true)).tasks?.[0]?.status, "SCHEDULED", "a paused worker takes no task");
  workers.updatePollingOptions("*", { paused: false });
  assert.equal(workers.isPolling(), true);
  assert.equal((await waitAll(client, [held], 30_000))[0].status, "COMPLETED");

  assert.throws(() => workers.updatePollingOptions(name, { concurrency: 0 }), /concurrency must be a whole number >= 1/);
  assert.throws(() => workers.updatePollingOptions("nope", { concurrency: 2 }), /no running worker named "nope"/);
  const summary = await workers.stop();
  assert.equal(summary.exitCode, 0);
  assert.equal(workers.isPolling(), false);
  client.close();
});

test("the WorkflowClient completes and fails tasks by id and by reference name; an unknown one is a TaskNotFoundError", async () => {
  const conductor = testClient();
  const name = uniqueName("api_wait");
  const res = await conductor.upsertWorkflowDefs([
    {
      name,
      version: 1,
      schemaVersion: 2,
      ownerEmail: "test@idflow.dev",
      tasks: [{ name: "w", taskReferenceName: "hook", type: "WAIT" }],
      outputParameters: { approved: "${hook.output.approved}" },
    },
  ]);
  assert.deepEqual(res.bulkErrorResults ?? {}, {});
  const client = await createClient({ server: { url: testServerUrl() } });

  const a = await client.startWorkflow(name);
  await assert.rejects(client.completeTaskByRef(a, "no_such_ref", {}), TaskNotFoundError);
  const taskId = await client.completeTaskByRef(a, "hook", { approved: true });
  const wa = await client.waitForWorkflow(a, { timeoutMs: 30_000 });
  assert.equal(wa.status, "COMPLETED");
  assert.deepEqual(wa.output, { approved: true });
  assert.equal(wa.tasks?.[0].taskId, taskId);
  await assert.rejects(client.completeTaskByRef(a, "hook", {}), /no pending task "hook"/, "an ended task is not pending any more");

  const b = await client.startWorkflow(name);
  await client.failTaskByRef(b, "hook", "rejected by the reviewer", { terminal: true });
  const wb = await client.waitForWorkflow(b, { timeoutMs: 30_000 });
  assert.equal(wb.status, "FAILED");
  assert.match(String(wb.reasonForIncompletion), /rejected by the reviewer/);

  const c = await client.startWorkflow(name);
  const pending = (await client.getWorkflow(c)).tasks![0];
  await client.completeTask(pending.taskId, { approved: false });
  assert.deepEqual((await client.waitForWorkflow(c, { timeoutMs: 30_000 })).output, { approved: false });
  await assert.rejects(client.completeTask("00000000-0000-0000-0000-000000000000"), TaskNotFoundError);
  client.close();
  conductor.close();
});
