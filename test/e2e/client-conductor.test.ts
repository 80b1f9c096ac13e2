/** The Conductor client against the real server `npm test` starts. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { ConductorError } from "../../src/conductor/errors.ts";
import { ConductorClient } from "../../src/conductor/client.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";

const client = testClient();
after(() => client.close());

describe("ConductorClient against a real Conductor", () => {
  test("registers a task definition and reads it back", async () => {
    const name = uniqueName("client_def");
    await client.registerTaskDefs([{ name, description: "client test", timeoutSeconds: 60, responseTimeoutSeconds: 30, retryCount: 1, retryDelaySeconds: 1 }]);
    const def = await client.getTaskDef(name);
    assert.ok(def, "the definition comes back");
    assert.equal(def.name, name);
    assert.equal(def.description, "client test");
    assert.equal(def.responseTimeoutSeconds, 30);
    assert.equal(def.retryCount, 1);
    await client.updateTaskDef({ ...def, description: "changed" });
    assert.equal((await client.getTaskDef(name))?.description, "changed");
    assert.equal(await client.getTaskDef(uniqueName("missing")), undefined, "an unknown name is undefined, not an error");
  });

  test("runs a workflow by hand: poll, update-v2 hands out the next task, update, COMPLETED", async () => {
    const taskType = uniqueName("client_task");
    const wfName = uniqueName("client_wf");
    await client.registerTaskDefs([{ name: taskType, timeoutSeconds: 60, responseTimeoutSeconds: 30, retryCount: 0 }]);
    await client.createWorkflowDef({
      name: wfName,
      version: 1,
      schemaVersion: 2,
      tasks: [
        { name: taskType, taskReferenceName: "first", type: "SIMPLE", inputParameters: { n: "${workflow.input.n}" } },
        { name: taskType, taskReferenceName: "second", type: "SIMPLE", inputParameters: { m: "${first.output.doubled}" } },
      ],
      outputParameters: { result: "${second.output.result}" },
    });
    const workflowId = await client.startWorkflow(wfName, { n: 21 }, { correlationId: "client-test" });
    assert.match(workflowId, /^[0-9a-f-]{36}$/);

    const polled = await client.batchPoll(taskType, { workerId: "client-test", count: 1, timeoutMs: 2000 });
    assert.equal(polled.length, 1);
    const first = polled[0];
    assert.equal(first.referenceTaskName, "first");
    assert.equal(first.workflowInstanceId, workflowId);
    assert.deepEqual(first.inputData, { n: 21 });
    assert.equal(first.status, "IN_PROGRESS");

    const next = await client.updateTaskV2({
      taskId: first.taskId,
      workflowInstanceId: workflowId,
      workerId: "client-test",
      status: "COMPLETED",
      outputData: { doubled: 42 },
    });
    assert.ok(next, "update-v2 answers with the next task of the same type");
    assert.equal(next.referenceTaskName, "second");
    assert.deepEqual(next.inputData, { m: 42 });

    await client.updateTask({
      taskId: next.taskId,
      workflowInstanceId: workflowId,
      workerId: "client-test",
      status: "COMPLETED",
      outputData: { result: "done" },
    });
    const wf = await client.getWorkflow(workflowId);
    assert.equal(wf.status, "COMPLETED");
    assert.deepEqual(wf.output, { result: "done" });
    assert.deepEqual(
      wf.tasks?.map((t) => t.status),
      ["COMPLETED", "COMPLETED"],
    );
    assert.deepEqual(await client.batchPoll(taskType, { count: 1, timeoutMs: 100 }), [], "nothing left to poll");
  });

  test("errors carry Conductor's message and validation errors", async () => {
    const missing = uniqueName("no_such_wf");
    await assert.rejects(client.startWorkflow(missing, {}), (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.status, 404);
      assert.match(err.serverMessage ?? "", new RegExp(missing));
      assert.match(err.message, /Conductor answered 404 to POST \/api\/workflow\//);
      return true;
    });
    await assert.rejects(client.registerTaskDefs([{ name: uniqueName("bad_def"), timeoutSeconds: 10, responseTimeoutSeconds: 20 }]), (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.status, 400);
      assert.ok(err.validationErrors.length > 0, "validationErrors are kept");
      assert.match(err.message, /responseTimeoutSeconds/);
      return true;
    });
  });

  test("accepts the URL with or without /api, and reads the server version", async () => {
    for (const url of [testServerUrl(), `${testServerUrl()}/api`, `${testServerUrl()}/api/`]) {
      const c = new ConductorClient({ serverUrl: url });
      try {
        assert.equal(await c.healthy(), true, url);
        assert.match((await c.serverVersion()) ?? "", /^\d+\.\d+\.\d+/);
        assert.ok(Array.isArray(await c.getTaskDefs()));
      } finally {
        c.close();
      }
    }
  });
});
