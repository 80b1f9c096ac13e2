/**
 * The local server's SQLite settings hold up under concurrent writers: workflows started all
 * at once, and their tasks completed by parallel pollers, never meet SQLITE_BUSY (the
 * properties set transaction_mode=IMMEDIATE; without it 3.21.14 fails a quarter of them).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { testClient, uniqueName } from "../support/conductor.ts";
import { waitForWorkflow } from "../../src/conductor/wait.ts";

test("60 workflows started at once and completed by 6 parallel pollers all COMPLETE", async () => {
  const client = testClient();
  try {
    const name = uniqueName("sqlite_conc");
    await client.registerTaskDefs([{ name, timeoutSeconds: 0, responseTimeoutSeconds: 60, retryCount: 0 }]);
    await client.upsertWorkflowDefs([
      {
        name: `${name}_wf`,
        version: 1,
        schemaVersion: 2,
        tasks: [
          { name, taskReferenceName: "a", type: "SIMPLE" },
          { name, taskReferenceName: "b", type: "SIMPLE" },
        ],
      },
    ]);
    const ids = await Promise.all(Array.from({ length: 60 }, () => client.startWorkflow(`${name}_wf`, {})));
    let completed = 0;
    const deadline = Date.now() + 60_000;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (completed < ids.length * 2 && Date.now() < deadline) {
          const tasks = await client.batchPoll(name, { count: 5, timeoutMs: 100, workerId: "conc" });
          await Promise.all(
            tasks.map(async (t) => {
              await client.updateTask({ taskId: t.taskId, workflowInstanceId: t.workflowInstanceId, status: "COMPLETED", outputData: { ok: true } });
              completed++;
            }),
          );
        }
      }),
    );
    const statuses = await Promise.all(ids.map(async (id) => (await waitForWorkflow(client, id, { timeoutMs: 20_000 })).status));
    assert.deepEqual(
      statuses.filter((s) => s !== "COMPLETED"),
      [],
    );
    assert.equal(completed, 120);
  } finally {
    client.close();
  }
});
