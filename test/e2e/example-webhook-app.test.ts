/**
 * examples/webhook-app end to end against the real Conductor: the Express app runs its workers in
 * process, starts the workflow over HTTP, and its web hook completes the WAIT task.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { discover } from "../../src/discovery/discover.ts";
import { upload } from "../../src/upload/upload.ts";
import { startApp } from "../../examples/webhook-app/app.ts";
import { testClient, testServerUrl } from "../support/conductor.ts";
import { tempStateDir, until } from "../fixtures/runtime/helpers.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples/webhook-app");

test("the example app completes a WAIT task through its web hook", async () => {
  const conductor = testClient();
  const found = await discover({ root });
  assert.deepEqual(found.errors, []);
  await upload(conductor, { registrations: found.registrations, root });

  const app = await startApp({ serverUrl: testServerUrl(), port: 0, stateDir: tempStateDir() });
  try {
    const health = await fetch(`${app.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { polling: boolean }).polling, true);

    const started = await fetch(`${app.url}/approvals`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ item: "invoice 42" }),
    });
    assert.equal(started.status, 201);
    const { workflowId } = (await started.json()) as { workflowId: string };

    // The worker in the app runs the first task; then the workflow waits for the hook.
    await until(
      async () => (await conductor.getWorkflow(workflowId, true)).tasks?.some((t) => t.referenceTaskName === "approval" && t.status === "IN_PROGRESS") ?? false,
      30_000,
      "the WAIT task",
    );
    const early = await conductor.getWorkflow(workflowId, true);
    assert.equal(early.status, "RUNNING");

    const missing = await fetch(`${app.url}/hooks/approval/not-a-workflow`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(missing.status, 404);

    const hook = await fetch(`${app.url}/hooks/approval/${workflowId}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ approved: true, by: "ada" }),
    });
    assert.equal(hook.status, 200, await hook.clone().text());
    await until(async () => (await conductor.getWorkflow(workflowId, false)).status === "COMPLETED", 30_000, "the workflow to complete");
    const wf = await conductor.getWorkflow(workflowId, false);
    assert.deepEqual(wf.output, { item: "invoice 42", approved: true, by: "ada" });
  } finally {
    await app.close();
    conductor.close();
  }
  assert.equal(app.workers.isPolling(), false);
});
