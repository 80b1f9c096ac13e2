import assert from "node:assert/strict";
import { mkdtemp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { formatIssue, type Issue } from "../../src/workflows/issues.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import { loadProjectConfig } from "../../src/workflows/project-config.ts";
import { validateWorkflows } from "../../src/workflows/validate.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "../fixtures/workflows");
const repo = path.join(here, "../..");
const EXAMPLE_TASKS = ["extract_keywords", "text_stats", "slugify_title", "draft_outline", "fetch_url", "readability"];

async function check(root: string, knownTasks = EXAMPLE_TASKS, version?: string): Promise<Issue[]> {
  const loaded = await loadWorkflows(root);
  const { config, issues } = await loadProjectConfig(root);
  const target = version ? { version, source: "flag" as const, reason: "test" } : undefined;
  return [...loaded.errors, ...issues, ...validateWorkflows(loaded.workflows, { knownTasks, config, target })];
}

test("every Conductor-shaped fixture validates without errors or warnings", async () => {
  const root = path.join(fixtures, "conductor");
  const loaded = await loadWorkflows(root);
  assert.equal(loaded.workflows.length, 8);
  const issues = await check(root, []);
  assert.deepEqual(issues.map(formatIssue), []);
});

test("the example workflows validate against the example task names", async () => {
  const issues = await check(repo);
  assert.deepEqual(issues.map(formatIssue), []);
});

const expected = JSON.parse(await readFile(path.join(fixtures, "broken/expected.json"), "utf8")) as Record<string, Array<Partial<Issue>>>;
const caseDirs = (await readdir(path.join(fixtures, "broken"), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);

test("every broken fixture has an expectation", () => {
  assert.deepEqual([...caseDirs].sort(), Object.keys(expected).sort());
});

for (const name of Object.keys(expected)) {
  test(`broken workflow "${name}" yields exactly its issue(s), with file, pointer, line and column`, async () => {
    const issues = await check(path.join(fixtures, "broken", name));
    const got = issues.map((i) => ({ severity: i.severity, rule: i.rule, pointer: i.pointer }));
    const want = expected[name].map((e) => ({ severity: e.severity, rule: e.rule, pointer: e.pointer }));
    assert.deepEqual(got, want, issues.map(formatIssue).join("\n"));
    for (const [k, e] of expected[name].entries()) {
      const i = issues[k];
      assert.match(i.file, /^workflows\/[^/]+\/[^/]+\.json$/);
      if (e.file) assert.equal(i.file, e.file);
      assert.ok(i.line && i.line >= 1 && i.column && i.column >= 1, `line and column for ${formatIssue(i)}`);
      if (e.line) assert.equal(i.line, e.line);
      if (e.column) assert.equal(i.column, e.column);
      assert.ok(i.message.length > 10);
    }
  });
}

test("the line and column point at the offending property", async () => {
  const issues = await check(path.join(fixtures, "broken", "unknown_type"));
  const text = await readFile(path.join(fixtures, "broken/unknown_type/workflows/unknown_type/unknown_type.json"), "utf8");
  const i = issues[0];
  assert.equal(
    text
      .split("\n")
      [i.line! - 1].slice(i.column! - 1)
      .trimEnd(),
    '"type": "SIMPL",',
  );
  assert.match(
    formatIssue(i),
    /^workflows\/unknown_type\/unknown_type\.json:\d+:\d+ #\/tasks\/1\/type: unknown task type "SIMPL": did you mean "SIMPLE"\?\n {4}fix: write "type": "SIMPLE"/,
  );
});

test("all problems are reported at once, not the first only", async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "idflow-wf-"));
  await mkdir(path.join(root, "workflows/many"), { recursive: true });
  await writeFile(
    path.join(root, "workflows/many/many.json"),
    JSON.stringify({
      name: "many",
      version: 1,
      tasks: [
        { name: "nope", taskReferenceName: "a" },
        { name: "x", taskReferenceName: "a", type: "WAT" },
        { name: "text_stats", taskReferenceName: "b", inputParameters: { t: "${zz.output}" } },
      ],
    }),
  );
  const rules = (await check(root)).map((i) => i.rule).sort();
  assert.deepEqual(rules, ["duplicate-ref", "task-type-typo", "unknown-ref", "unknown-task"]);
});

test("reference visibility: after the JOIN all branches are visible, switch cases after the switch, loop body inside and after the loop", async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "idflow-wf-"));
  await mkdir(path.join(root, "workflows/vis"), { recursive: true });
  const S = (name: string, ref: string, inputParameters: Record<string, unknown> = {}) => ({ name, taskReferenceName: ref, type: "SIMPLE", inputParameters });
  const def = {
    name: "vis",
    version: 1,
    inputParameters: ["text"],
    tasks: [
      {
        name: "f",
        taskReferenceName: "f",
        type: "FORK_JOIN",
        forkTasks: [[S("text_stats", "a"), S("slugify_title", "a2", { x: "${a.output.words}", fork: "${f.output}" })], [S("text_stats", "b")]],
      },
      { name: "j", taskReferenceName: "j", type: "JOIN", joinOn: ["a2", "b"], inputParameters: { x: "${a.output}" } },
      S("text_stats", "after_join", { a: "${a.output.words}", b: "${b.output.words}" }),
      {
        name: "sw",
        taskReferenceName: "sw",
        type: "SWITCH",
        evaluatorType: "javascript",
        expression: "$.x > 1 ? 'big' : 'small'",
        inputParameters: { x: "${after_join.output.words}" },
        decisionCases: { big: [S("draft_outline", "c1", { r: "${sw.output.evaluationResult}" })] },
        defaultCase: [S("draft_outline", "c2")],
      },
      S("text_stats", "after_switch", { maybe: "${c1.output.outline}", or: "${c2.output.outline}" }),
      {
        name: "loop",
        taskReferenceName: "loop",
        type: "DO_WHILE",
        loopCondition: "$.loop['iteration'] < 3",
        inputParameters: { last: "${l2.output}" },
        loopOver: [S("text_stats", "l1", { i: "${loop.output.iteration}" }), S("text_stats", "l2", { prev: "${l1.output.words}" })],
      },
      S("text_stats", "after_loop", { x: "${l2.output.words}", id: "${workflow.workflowId}", v: "${workflow.variables.v}", env: "${CPEWF_TASK_ID}" }),
    ],
    outputParameters: { all: "${c1.output}", l: "${l1.output}" },
  };
  await writeFile(path.join(root, "workflows/vis/vis.json"), JSON.stringify(def, null, 2));
  assert.deepEqual((await check(root)).map(formatIssue), []);
  // and the other way round: a case's task cannot see a sibling case, a loop task cannot see a later one? (it can: earlier iterations) — but a task before the loop cannot see the body.
  def.tasks[2] = S("text_stats", "after_join", { a: "${c1.output}" });
  def.tasks[3] = { ...(def.tasks[3] as object), defaultCase: [S("draft_outline", "c2", { other: "${c1.output}" })] } as never;
  await writeFile(path.join(root, "workflows/vis/vis.json"), JSON.stringify(def, null, 2));
  const issues = await check(root);
  assert.deepEqual(
    issues.map((i) => [i.rule, i.pointer]),
    [
      ["ref-not-run", "/tasks/2/inputParameters/a"],
      ["ref-not-run", "/tasks/3/defaultCase/0/inputParameters/other"],
    ],
  );
  assert.match(issues[1].message, /another case \(case "big"\) of SWITCH "sw"/);
});

test("idflow.config.json: externalTasks and externalWorkflows make SIMPLE tasks and sub-workflows known; bad shapes are errors", async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "idflow-wf-"));
  await mkdir(path.join(root, "workflows/ext"), { recursive: true });
  await writeFile(
    path.join(root, "workflows/ext/ext.json"),
    JSON.stringify({
      name: "ext",
      version: 1,
      tasks: [
        { name: "python_worker", taskReferenceName: "p" },
        { name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "elsewhere" } },
      ],
    }),
  );
  assert.deepEqual(
    (await check(root)).map((i) => i.rule),
    ["unknown-task", "unknown-sub-workflow"],
  );
  await writeFile(
    path.join(root, "idflow.config.json"),
    JSON.stringify({ externalTasks: ["python_worker"], externalWorkflows: ["elsewhere"], ownerEmail: "team@example.com" }),
  );
  assert.deepEqual(await check(root), []);
  assert.equal((await loadProjectConfig(root)).config.ownerEmail, "team@example.com");
  await writeFile(path.join(root, "idflow.config.json"), JSON.stringify({ externalTasks: "python_worker", ownerEmail: "nope", extra: 1 }, null, 2));
  const { issues } = await loadProjectConfig(root);
  assert.deepEqual(
    issues.map((i) => [i.severity, i.pointer, i.file]),
    [
      ["error", "/externalTasks", "idflow.config.json"],
      ["error", "/ownerEmail", "idflow.config.json"],
      // One configuration source (src/config.ts): an unknown key in the project file is an error.
      ["error", "/extra", "idflow.config.json"],
    ],
  );
});

test("INLINE graaljs is parsed as JavaScript too (on a server that has graaljs); value-param INLINE is not", async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "idflow-wf-"));
  await mkdir(path.join(root, "workflows/js"), { recursive: true });
  const inline = (ev: string, expression: string, ref: string) => ({
    name: ref,
    taskReferenceName: ref,
    type: "INLINE",
    inputParameters: { evaluatorType: ev, expression },
  });
  await writeFile(
    path.join(root, "workflows/js/js.json"),
    JSON.stringify({
      name: "js",
      version: 1,
      tasks: [inline("graaljs", "const x = ; x", "g"), inline("value-param", "not js at all {{", "v"), inline("javascript", "(() => ({ ok: true }))()", "ok")],
    }),
  );
  const issues = await check(root, EXAMPLE_TASKS, "3.32.3");
  assert.deepEqual(
    issues.map((i) => [i.rule, i.pointer]),
    [["script-syntax", "/tasks/0/inputParameters/expression"]],
  );
  assert.match(issues[0].message, /line 1, column 11 of the script/);
});
