/**
 * idflow's verdict for the version of the server this run has (GET /api/admin/config) agrees
 * with that server on our own fixtures (test/fixtures/workflows/versioned): each fixture is
 * registered (PUT /metadata/workflow) and, when accepted, started; it is invalid for the server
 * when refused or when it fails within moments of its start, valid otherwise. The lead runs the
 * e2e suite on 3.21 and on 3.32, so this holds on both lines.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConductorError } from "../../src/conductor/errors.ts";
import type { TaskDef, WorkflowDef } from "../../src/conductor/types.ts";
import { errorsOf, formatIssue } from "../../src/workflows/issues.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import { loadProjectConfig } from "../../src/workflows/project-config.ts";
import { validateWorkflows } from "../../src/workflows/validate.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/workflows/versioned");
const client = testClient();
after(() => client.close());

/**
 * Where idflow is stricter than the server on purpose: a type one letter away from SIMPLE is a
 * typo to idflow, while the server schedules it as a user-defined task.
 */
const STRICTER_BY_DESIGN = new Set(["simple_typo"]);

/** Fixtures whose run needs what a test server lacks (an LLM provider): only registration is compared. */
const REGISTRATION_ONLY = new Set(["llm_task_type"]);

/** The input each fixture is started with. */
function inputFor(name: string, suffix: string): Record<string, unknown> {
  switch (name) {
    case "http_uri_top_level":
      return { url: `${testServerUrl().replace(/\/api$/, "")}/health` };
    case "switch_javascript_type_error":
      return { order: { items: [1, 2] } };
    case "start_workflow_expression":
      return { startWorkflow: { name: `vfx_no_version_${suffix}`, input: {} } };
    default:
      return { name: "ada", first: "x", items: { first: { value: 1 } }, x: 1 };
  }
}

type ServerVerdict = { valid: boolean; how: string };

async function serverVerdict(def: WorkflowDef, input: Record<string, unknown>, registrationOnly: boolean): Promise<ServerVerdict> {
  try {
    const res = await client.upsertWorkflowDefs([def]);
    const failed = Object.values(res.bulkErrorResults ?? {});
    if (failed.length) return { valid: false, how: `refused: ${String(failed[0])}` };
  } catch (err) {
    if (err instanceof ConductorError && err.status === 400)
      return { valid: false, how: `refused: ${err.validationErrors.map((v) => v.message).join("; ") || err.message}` };
    throw err;
  }
  if (registrationOnly) return { valid: true, how: "accepted (not started)" };
  let id: string;
  try {
    id = await client.startWorkflow(def.name, input, { version: def.version ?? 1 });
  } catch (err) {
    if (err instanceof ConductorError && err.status !== undefined) return { valid: false, how: `start refused (${err.status}): ${err.message}` };
    throw err;
  }
  // System tasks (INLINE, SWITCH, DO_WHILE, forks) run within the start's decide; give the async ones a moment.
  const until = Date.now() + 3000;
  let wf = await client.getWorkflow(id, true);
  while (
    wf.status === "RUNNING" &&
    Date.now() < until &&
    (wf.tasks ?? []).some((t) => t.status === "SCHEDULED" && ["HTTP", "SUB_WORKFLOW", "START_WORKFLOW"].includes(String(t.taskType)))
  ) {
    await new Promise((r) => setTimeout(r, 200));
    wf = await client.getWorkflow(id, true);
  }
  if (wf.status === "RUNNING" || wf.status === "PAUSED") {
    // It may finish between the read and the terminate: a 409 then is no failure.
    await client.terminateWorkflow(id, "version agreement test").catch((err) => {
      if (!(err instanceof ConductorError && err.status === 409)) throw err;
    });
  }
  if (wf.status === "FAILED" || wf.status === "TERMINATED") {
    const reasons = [wf.reasonForIncompletion, ...(wf.tasks ?? []).map((t) => t.reasonForIncompletion)].filter(Boolean).join(" / ");
    return { valid: false, how: `fails at start: ${reasons}` };
  }
  return { valid: true, how: `accepted and ${wf.status}` };
}

test("idflow's verdict at the server's version agrees with the server on every versioned fixture", async () => {
  const version = await client.serverVersion();
  assert.ok(version, "the test server answers its version on /api/admin/config");
  const { workflows } = await loadWorkflows(root);
  const { config } = await loadProjectConfig(root);
  assert.ok(workflows.length >= 20);
  const suffix = uniqueName("va");
  // Task definitions the fixtures' worker tasks need (short timeouts, no retries): without one
  // the server fails a user-defined task at once ("Invalid task specified").
  const taskNames = ["vfx_fanned_task", "vfx_custom", "vfx_x", "vfx_chat"];
  await client.registerTaskDefs(
    taskNames.map((name) => ({ name, retryCount: 0, timeoutSeconds: 30, responseTimeoutSeconds: 5, ownerEmail: "test@example.com" }) as TaskDef),
  );
  const disagreements: string[] = [];
  let agreedInvalid = 0;
  let agreedValid = 0;
  for (const wf of workflows) {
    const name = wf.source.file.split("/")[1];
    const issues = validateWorkflows([wf], { knownTasks: [], config, target: { version, source: "server", reason: "test server" } });
    const idflowValid = errorsOf(issues).length === 0;
    const def = structuredClone(wf.def);
    def.name = `${wf.def.name}_${suffix}`;
    const server = await serverVerdict(def, inputFor(name, suffix), REGISTRATION_ONLY.has(name));
    if (STRICTER_BY_DESIGN.has(name)) {
      assert.equal(idflowValid, false, `${name}: idflow flags it`);
      continue;
    }
    if (idflowValid !== server.valid) {
      disagreements.push(
        `${name} on ${version}: idflow ${idflowValid ? "accepts" : `refuses (${issues.map(formatIssue).join(" | ")})`}, server: ${server.how}`,
      );
    } else if (server.valid) agreedValid++;
    else agreedInvalid++;
  }
  assert.deepEqual(disagreements, []);
  // Both kinds occur on every version: the fixtures exercise refusals and acceptances alike.
  assert.ok(agreedInvalid >= 4 && agreedValid >= 8, `agreed invalid ${agreedInvalid}, valid ${agreedValid}`);
});
