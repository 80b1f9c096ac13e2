/**
 * Changing the local server's line keeps its data: a project that ran one Conductor line (say
 * 3.21 on Java 17) and starts the other (3.32 on Java 21+) finds its definitions, its running
 * workflow and the queued task, and the workflow completes on the new line. `npm test` runs this
 * in both passes, so both directions are proven: pass 1 goes from the default Java's line to
 * the second one, pass 2 back. It needs the two JDKs the harness was given
 * (IDFLOW_TEST_OTHER_JAVA, set by test/run.ts from IDFLOW_TEST_SECOND_JAVA) and fails loudly
 * without them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
import { startLocalServer, stopLocalServer } from "../../src/server/index.ts";
import { uniqueName } from "../support/conductor.ts";

const stateDir = mkdtempSync(path.join(os.tmpdir(), "idflow-line-change-"));
after(async () => {
  await stopLocalServer({ stateDir, timeoutMs: 5000 }).catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
});

test("a server of the other line starts on the same data: definitions, a running workflow and its queued task survive, and it completes", async () => {
  const other = process.env.IDFLOW_TEST_OTHER_JAVA;
  assert.ok(other, "IDFLOW_TEST_OTHER_JAVA is not set: run through `npm test` with IDFLOW_TEST_SECOND_JAVA naming a JDK of the other Conductor line");
  const task = uniqueName("line_task");
  const wf = `${task}_wf`;

  // This pass's line (IDFLOW_JAVA, as the harness set it, or the default java).
  const first = await startLocalServer({ stateDir, port: 0, detached: false });
  let client = new ConductorClient({ serverUrl: first.state.url });
  const firstVersion = await client.serverVersion();
  await client.registerTaskDefs([{ name: task, timeoutSeconds: 0, responseTimeoutSeconds: 60, retryCount: 0, ownerEmail: "test@idflow.dev" }]);
  const up = await client.upsertWorkflowDefs([
    { name: wf, version: 1, schemaVersion: 2, ownerEmail: "test@idflow.dev", tasks: [{ name: task, taskReferenceName: "t", type: "SIMPLE" }] },
  ]);
  assert.deepEqual(up.bulkErrorResults ?? {}, {});
  const id = await client.startWorkflow(wf, { n: 1 });
  client.close();
  await stopLocalServer({ stateDir, timeoutMs: 15_000 });

  // The other line, same folder.
  const second = await startLocalServer({ stateDir, port: 0, java: other, detached: false });
  client = new ConductorClient({ serverUrl: second.state.url });
  try {
    const secondVersion = await client.serverVersion();
    assert.notEqual(
      secondVersion?.split(".").slice(0, 2).join("."),
      firstVersion?.split(".").slice(0, 2).join("."),
      `two different lines ran (${firstVersion} then ${secondVersion})`,
    );
    assert.equal((await client.getTaskDef(task))?.name, task, "the task definition survived");
    const before = await client.getWorkflow(id, true);
    assert.equal(before.status, "RUNNING");
    assert.equal(before.tasks?.[0]?.status, "SCHEDULED");
    const [polled] = await client.batchPoll(task, { workerId: "line-change", count: 1, timeoutMs: 1000 });
    assert.equal(polled?.workflowInstanceId, id, "the queued task is handed out by the new line");
    await client.updateTask({ taskId: polled!.taskId, workflowInstanceId: id, workerId: "line-change", status: "COMPLETED", outputData: { ok: true } });
    const after = await client.getWorkflow(id, true);
    assert.equal(after.status, "COMPLETED");
  } finally {
    client.close();
  }
});
