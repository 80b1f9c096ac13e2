/**
 * What upload promises, against a real Conductor: broken workflows stop everything (exit 2,
 * the server gains nothing), --dry-run writes nothing, --workflow filters, a refusal by the
 * server is exit 1 with its validation message and no workflow written.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { upload, UploadRefusedError } from "../../src/upload/upload.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import type { Registration } from "../../src/task/registration.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";

const run = promisify(execFile);
const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");
const brokenDir = path.join(repo, "test/fixtures/workflows/broken");
const client = testClient();
after(() => client.close());
const EXAMPLE_TASKS = ["extract_keywords", "text_stats", "slugify_title", "draft_outline"];

async function cli(root: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(repo, "cli/bin.js"), ...args, "--root", root, "--server-url", testServerUrl()], {
      cwd: root,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A temp project with one real worker (unique name) and the example task names declared external. */
async function project(taskName: string): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), "idflow-upload-"));
  await mkdir(path.join(root, "tasks", taskName), { recursive: true });
  await writeFile(
    path.join(root, "tasks", taskName, `${taskName}.ts`),
    `import { workerTask } from ${JSON.stringify(path.join(repo, "src/index.ts"))};\nexport const t = workerTask({ name: ${JSON.stringify(taskName)}, retryCount: 0 })(async () => ({ ok: true }));\n`,
  );
  await writeFile(path.join(root, "idflow.config.json"), JSON.stringify({ externalTasks: EXAMPLE_TASKS }));
  return root;
}

test("every broken workflow is reported with file and pointer, exit 2, and the server gains nothing", async () => {
  const taskName = uniqueName("e2e_broken_task");
  const root = await project(taskName);
  const expected = JSON.parse(await readFile(path.join(brokenDir, "expected.json"), "utf8")) as Record<string, Array<{ rule: string; pointer: string }>>;
  for (const c of Object.keys(expected)) await cp(path.join(brokenDir, c, "workflows"), path.join(root, "workflows"), { recursive: true });
  const names = (await loadWorkflows(root)).workflows.map((w) => w.def.name).filter((n) => typeof n === "string");
  assert.ok(names.length >= 25);

  const res = await cli(root, "worker", "upload");
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /nothing was uploaded/);
  for (const [c, issues] of Object.entries(expected)) {
    const files = await readdir(path.join(brokenDir, c, "workflows"));
    for (const i of issues) {
      const pattern = new RegExp(`workflows/(${files.join("|")})/[^ ]+\\.json:\\d+:\\d+ #${i.pointer.replace(/[/]/g, "\\/")}:`);
      assert.match(res.stderr, pattern, `${c}: ${i.rule} at #${i.pointer}`);
    }
  }
  const json = await cli(root, "worker", "upload", "--json");
  assert.equal(json.code, 2);
  const out = JSON.parse(json.stdout) as { uploaded: boolean; errors: Array<{ file: string; pointer: string; rule: string }> };
  assert.equal(out.uploaded, false);
  assert.ok(
    out.errors.length >=
      Object.values(expected)
        .flat()
        .filter((i) => i.rule !== "undeclared-input").length,
  );

  assert.equal(await client.getTaskDef(taskName), undefined, "no task definition written");
  for (const n of names) assert.equal(await client.getWorkflowDef(n), undefined, `workflow ${n} not written`);

  const validate = await cli(root, "workflow", "validate", "--json");
  assert.equal(validate.code, 2);
  assert.equal(JSON.parse(validate.stdout).valid, false);
});

test("--dry-run writes nothing; --workflow uploads that workflow and only the tasks it uses", async () => {
  const taskName = uniqueName("e2e_dry_task");
  const other = uniqueName("e2e_other_task");
  const root = await project(taskName);
  await mkdir(path.join(root, "tasks", other));
  await writeFile(
    path.join(root, "tasks", other, `${other}.ts`),
    `import { workerTask } from ${JSON.stringify(path.join(repo, "src/index.ts"))};\nexport const t = workerTask({ name: ${JSON.stringify(other)} })(async () => ({}));\n`,
  );
  const wfA = uniqueName("e2e_wf_a");
  const wfB = uniqueName("e2e_wf_b");
  for (const [wf, task] of [
    [wfA, taskName],
    [wfB, other],
  ]) {
    await mkdir(path.join(root, "workflows", wf), { recursive: true });
    await writeFile(
      path.join(root, "workflows", wf, `${wf}.json`),
      JSON.stringify({ name: wf, version: 1, schemaVersion: 2, tasks: [{ name: task, taskReferenceName: "t", type: "SIMPLE" }] }, null, 2),
    );
  }
  const dry = await cli(root, "worker", "upload", "--dry-run", "--json");
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout) as { dryRun: boolean; definitions: Array<{ name: string; action: string }> };
  assert.equal(plan.dryRun, true);
  assert.deepEqual(
    plan.definitions.map((d) => d.action),
    ["created", "created", "created", "created"],
  );
  assert.equal(await client.getTaskDef(taskName), undefined);
  assert.equal(await client.getWorkflowDef(wfA), undefined);

  const one = await cli(root, "worker", "upload", "--workflow", wfA, "--json");
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(
    JSON.parse(one.stdout).definitions.map((d: { kind: string; name: string; action: string }) => `${d.kind} ${d.name} ${d.action}`),
    [`task ${taskName} created`, `workflow ${wfA} created`],
  );
  assert.ok(await client.getWorkflowDef(wfA, 1));
  assert.equal(await client.getTaskDef(other), undefined);
  assert.equal(await client.getWorkflowDef(wfB), undefined);

  const unknown = await cli(root, "worker", "upload", "--workflow", "no_such_wf");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no workflow named "no_such_wf"/);
  const both = await cli(root, "worker", "upload", "--tasks-only", "--workflows-only");
  assert.equal(both.code, 2);
});

test("a definition the server refuses: exit 1 with Conductor's validation message, and no workflow written", async () => {
  const taskName = uniqueName("e2e_refused_task");
  const wf = uniqueName("e2e_refused_wf");
  const root = await mkdtemp(path.join(os.tmpdir(), "idflow-upload-"));
  await mkdir(path.join(root, "workflows", wf), { recursive: true });
  await writeFile(
    path.join(root, "workflows", wf, `${wf}.json`),
    JSON.stringify({ name: wf, version: 1, tasks: [{ name: taskName, taskReferenceName: "t" }] }),
  );
  // Conductor refuses responseTimeoutSeconds above timeoutSeconds.
  const reg: Registration = {
    name: taskName,
    options: { name: taskName, timeoutSeconds: 10, responseTimeoutSeconds: 100 },
    fn: async () => ({}),
    sourceFile: path.join(root, "tasks/x/x.ts"),
  };
  await assert.rejects(upload(client, { registrations: [reg], root }), (err: unknown) => {
    assert.ok(err instanceof UploadRefusedError);
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /Conductor refused the task definitions \(400\)/);
    assert.match(err.message, /responseTimeoutSeconds/);
    assert.match(err.message, /Nothing was stored/);
    return true;
  });
  assert.equal(await client.getTaskDef(taskName), undefined);
  assert.equal(await client.getWorkflowDef(wf), undefined);
});
