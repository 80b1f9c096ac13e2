/** The Conductor-shaped fixtures validate clean here AND the real server accepts them (PUT /metadata/workflow). */
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { WorkflowDef } from "../../src/conductor/types.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import { loadProjectConfig } from "../../src/workflows/project-config.ts";
import { validateWorkflows } from "../../src/workflows/validate.ts";
import { testClient, uniqueName } from "../support/conductor.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/workflows/conductor");
const client = testClient();
after(() => client.close());

test("every Conductor-shaped fixture validates without errors and registers on the real server", async () => {
  const { workflows } = await loadWorkflows(root);
  const { config } = await loadProjectConfig(root);
  assert.equal(workflows.length, 8);
  assert.deepEqual(
    validateWorkflows(workflows, { knownTasks: [], config }).filter((i) => i.severity === "error"),
    [],
  );
  // Unique names so test files can share one server; sub-workflow names follow the rename.
  const suffix = uniqueName("fx");
  const rename = (n: string) => `${n}_${suffix}`;
  const defs = workflows.map((w) => {
    const def = JSON.parse(JSON.stringify(w.def).replace(/"name":"(fork_join_example)"/g, (_, n) => `"name":"${rename(n)}"`)) as WorkflowDef;
    def.name = rename(w.def.name);
    return def;
  });
  const res = await client.upsertWorkflowDefs(defs);
  assert.deepEqual(res.bulkErrorResults, {});
  for (const def of defs) {
    const got = await client.getWorkflowDef(def.name, 1);
    assert.ok(got, `${def.name} registered`);
    assert.equal(got.tasks.length, def.tasks.length);
  }
  const sub = await client.getWorkflowDef(rename("sub_workflow_example"), 1);
  assert.equal((sub!.tasks[0].subWorkflowParam as { name: string }).name, rename("fork_join_example"));
});
