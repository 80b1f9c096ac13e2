/**
 * `idflow workflow status | list | search` and `run --wait` against the real Conductor: the
 * research example as a tree (fork branches, the SWITCH case taken, nested), field by field in
 * JSON; a failing run (inside a sub-workflow, after a retry) named with its task and reason;
 * `run --wait` exits 1 for it; list compares project files with the server; search finds runs.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { WorkflowDef } from "../../src/conductor/types.ts";
import { waitForWorkflow } from "../../src/conductor/wait.ts";
import { discover } from "../../src/discovery/discover.ts";
import { runWorkers, type WorkerRun } from "../../src/runtime/handler.ts";
import type { RunTree, TaskNode } from "../../src/runs/status-tree.ts";
import { upload } from "../../src/upload/upload.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";
import { defineTaskAndWorkflow, reg, startMany, tempStateDir, until } from "../fixtures/runtime/helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const bin = path.join(repoRoot, "cli/bin.js");
const client = testClient();
const runs: WorkerRun[] = [];

/** Run the CLI; resolves with its exit code and output. */
function idflow(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args, "--server-url", testServerUrl()], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const failName = uniqueName("obs_fail");
const childWf = `${failName}_child`;
const parentWf = `${failName}_parent`;

before(async () => {
  // The examples, uploaded and run by workers in this process.
  const found = await discover({ root: repoRoot });
  const loaded = await loadWorkflows(repoRoot);
  await upload(client, { registrations: found.registrations, workflows: loaded.workflows, root: repoRoot });
  // A task that always fails, retried once, inside a sub-workflow.
  await client.registerTaskDefs([
    { name: failName, timeoutSeconds: 0, responseTimeoutSeconds: 30, retryCount: 1, retryLogic: "FIXED", retryDelaySeconds: 1, ownerEmail: "test@idflow.dev" },
  ]);
  const defs: WorkflowDef[] = [
    {
      name: childWf,
      version: 1,
      schemaVersion: 2,
      ownerEmail: "test@idflow.dev",
      tasks: [{ name: failName, taskReferenceName: "breaks", type: "SIMPLE", inputParameters: { n: "${workflow.input.n}" } }],
    },
    {
      name: parentWf,
      version: 1,
      schemaVersion: 2,
      ownerEmail: "test@idflow.dev",
      tasks: [
        {
          name: "call_child",
          taskReferenceName: "call_child",
          type: "SUB_WORKFLOW",
          subWorkflowParam: { name: childWf, version: 1 },
          inputParameters: { n: "${workflow.input.n}" },
        },
      ],
    },
  ];
  const res = await client.upsertWorkflowDefs(defs);
  assert.deepEqual(res.bulkErrorResults ?? {}, {});
  runs.push(
    await runWorkers({
      client,
      registrations: [
        ...found.registrations.filter((r) => !r.options.paused),
        reg(failName, async (input: { n: number }, ctx) => {
          throw new Error(`disk full on try ${ctx.retryCount} (n=${input.n})`);
        }),
      ],
      stateDir: tempStateDir(),
      handleSignals: false,
      overrides: { pollIntervalMs: 50 },
    }),
  );
});
after(async () => {
  await Promise.all(runs.map((r) => r.stop()));
  client.close();
});

const LONG_TEXT = Array.from({ length: 160 }, (_, i) => `word${i}`).join(" ");

function checkTask(n: TaskNode, want: { ref: string; name: string; type: string }): void {
  assert.equal(n.ref, want.ref);
  assert.equal(n.name, want.name);
  assert.equal(n.type, want.type);
  assert.equal(n.status, "COMPLETED", `${n.ref}: ${n.reason ?? ""}`);
  assert.match(n.taskId, /^[0-9a-f-]{36}$/);
  assert.equal(n.attempt, 1);
  assert.equal(n.attempts, 1);
  assert.equal(typeof n.durationMs, "number");
  assert.ok(n.durationMs! >= 0);
  assert.equal(n.reason, undefined);
  if (want.type === "SIMPLE") assert.ok(typeof n.workerId === "string" && n.workerId.length > 0, `${n.ref} has its worker id`);
  else assert.equal(n.workerId, undefined, `${n.ref} is a system task`);
}

describe("workflow status, list, search and run --wait (real Conductor)", () => {
  it("status of the research example: fork branches and the SWITCH case nested, JSON field by field, and the text tree", async () => {
    const id = await client.startWorkflow("research_blog_post_ideas", { topic: "Workers", text: LONG_TEXT });
    const done = await waitForWorkflow(client, id, { timeoutMs: 60_000 });
    assert.equal(done.status, "COMPLETED", done.reasonForIncompletion);

    const res = await idflow(["workflow", "status", id, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    const tree = JSON.parse(res.stdout) as RunTree;
    assert.equal(tree.workflowId, id);
    assert.equal(tree.name, "research_blog_post_ideas");
    assert.equal(tree.version, 1);
    assert.equal(tree.status, "COMPLETED");
    assert.equal(typeof tree.startTime, "number");
    assert.ok(tree.endTime! >= tree.startTime!);
    assert.equal(tree.durationMs, tree.endTime! - tree.startTime!);
    assert.equal(tree.failure, undefined);
    assert.equal(tree.reason, undefined);
    assert.deepEqual(
      tree.tasks.map((t) => t.ref),
      ["research_fork", "research_join", "combine", "by_depth", "slug"],
    );

    const [fork, join, combine, sw, slug] = tree.tasks;
    checkTask(fork, { ref: "research_fork", name: "research_fork", type: "FORK_JOIN" });
    assert.equal(fork.branches?.length, 2);
    assert.equal(fork.branches![0].length, 1);
    assert.equal(fork.branches![1].length, 1);
    checkTask(fork.branches![0][0], { ref: "keywords", name: "extract_keywords", type: "SIMPLE" });
    checkTask(fork.branches![1][0], { ref: "stats", name: "text_stats", type: "SIMPLE" });
    checkTask(join, { ref: "research_join", name: "research_join", type: "JOIN" });
    assert.equal(join.branches, undefined);
    checkTask(combine, { ref: "combine", name: "combine_research", type: "INLINE" });
    checkTask(sw, { ref: "by_depth", name: "by_depth", type: "SWITCH" });
    assert.equal(sw.case, "long");
    assert.equal(sw.defaultCase, undefined);
    assert.equal(sw.children?.length, 1);
    checkTask(sw.children![0], { ref: "outline", name: "draft_outline", type: "SIMPLE" });
    checkTask(slug, { ref: "slug", name: "slugify_title", type: "SIMPLE" });
    assert.equal(slug.children, undefined);

    const text = await idflow(["workflow", "status", id]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stderr.trimEnd().split("\n");
    assert.match(lines[0], new RegExp(`^research_blog_post_ideas v1  ${id}  COMPLETED  `));
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    assert.ok(at(/^├─ research_fork {2}FORK_JOIN {2}COMPLETED/) === 1, text.stderr);
    assert.match(lines[2], /^│ {2}├─ branch 1$/);
    assert.match(lines[3], /^│ {2}│ {2}└─ keywords \(extract_keywords\) {2}COMPLETED {2}worker \S+ {2}\d/);
    assert.match(lines[4], /^│ {2}└─ branch 2$/);
    assert.match(lines[5], /^│ {5}└─ stats \(text_stats\) {2}COMPLETED {2}worker /);
    const sIdx = at(/^├─ by_depth {2}SWITCH {2}COMPLETED {2}case "long"/);
    assert.ok(sIdx > 5, text.stderr);
    assert.match(lines[sIdx + 1], /^│ {2}└─ outline \(draft_outline\) {2}COMPLETED {2}worker /);
    assert.match(lines[lines.length - 1], /^└─ slug \(slugify_title\) {2}COMPLETED/);
  });

  it("a short text takes the SWITCH's default case", async () => {
    const id = await client.startWorkflow("research_blog_post_ideas", { topic: "Workers", text: "Short text." });
    await waitForWorkflow(client, id, { timeoutMs: 60_000 });
    const res = await idflow(["workflow", "status", id, "--json"]);
    const sw = (JSON.parse(res.stdout) as RunTree).tasks.find((t) => t.ref === "by_depth")!;
    assert.equal(sw.case, "short");
    assert.equal(sw.defaultCase, true);
    assert.deepEqual(
      sw.children?.map((c) => [c.ref, c.type, c.status]),
      [["short_note", "SET_VARIABLE", "COMPLETED"]],
    );
  });

  it("run --wait on a failing workflow exits 1 naming the failed task and its reason; status names them too, inside the sub-workflow", async () => {
    const run = await idflow(["workflow", "run", parentWf, "--input", '{"n":7}', "--wait", "--timeout", "60", "--json"]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`${parentWf} [0-9a-f-]{36}: FAILED: task breaks \\(${failName}\\) FAILED: disk full on try 1 \\(n=7\\)`));
    const out = JSON.parse(run.stdout) as {
      workflowId: string;
      status: string;
      failure: { ref: string; name: string; status: string; reason: string; workflowId: string };
    };
    assert.equal(out.status, "FAILED");
    assert.equal(out.failure.ref, "breaks");
    assert.equal(out.failure.name, failName);
    assert.equal(out.failure.status, "FAILED");
    assert.equal(out.failure.reason, "disk full on try 1 (n=7)");
    assert.notEqual(out.failure.workflowId, out.workflowId, "the failure is in the sub-workflow");

    const res = await idflow(["workflow", "status", out.workflowId, "--json"]);
    assert.equal(res.code, 0, "status itself succeeds");
    const tree = JSON.parse(res.stdout) as RunTree;
    assert.equal(tree.status, "FAILED");
    assert.deepEqual(tree.failure, out.failure);
    const call = tree.tasks[0];
    assert.equal(call.type, "SUB_WORKFLOW");
    assert.equal(call.status, "FAILED");
    assert.equal(call.subWorkflowId, out.failure.workflowId);
    assert.equal(call.subWorkflow?.name, childWf);
    assert.equal(call.subWorkflow?.status, "FAILED");
    const breaks = call.subWorkflow!.tasks[0];
    assert.equal(breaks.ref, "breaks");
    assert.equal(breaks.status, "FAILED");
    assert.equal(breaks.attempt, 2, "the retry is the second attempt");
    assert.equal(breaks.attempts, 2);
    assert.equal(breaks.reason, "disk full on try 1 (n=7)");

    const text = await idflow(["workflow", "status", out.workflowId]);
    assert.match(text.stderr, /└─ call_child {2}SUB_WORKFLOW {2}FAILED/);
    assert.match(text.stderr, new RegExp(`└─ breaks \\(${failName}\\) {2}FAILED {2}attempt 2 {2}worker \\S+ {2}\\d.*— disk full on try 1 \\(n=7\\)`));
    assert.match(
      text.stderr,
      new RegExp(`failed: breaks \\(${failName}\\) FAILED: disk full on try 1 \\(n=7\\) \\(in sub-workflow ${out.failure.workflowId}\\)`),
    );

    const watch = await idflow(["workflow", "status", out.workflowId, "--watch"]);
    assert.equal(watch.code, 1, "--watch exits 1 for a run that ended FAILED");

    // search finds it (the index is written asynchronously: wait for it).
    let found: { runs: Array<{ workflowId: string; status: string; name: string; failedTasks: string[] }> } = { runs: [] };
    await until(
      async () => {
        const s = await idflow(["workflow", "search", "--status", "FAILED", "--name", parentWf, "--since", "1h", "--json"]);
        found = JSON.parse(s.stdout);
        return found.runs.some((r) => r.workflowId === out.workflowId);
      },
      30_000,
      "the failed run in search",
    );
    const row = found.runs.find((r) => r.workflowId === out.workflowId)!;
    assert.equal(row.status, "FAILED");
    assert.equal(row.name, parentWf);
    assert.deepEqual(row.failedTasks, ["call_child"]);
    const none = await idflow(["workflow", "search", "--status", "COMPLETED", "--name", parentWf, "--json"]);
    assert.deepEqual((JSON.parse(none.stdout) as { runs: unknown[] }).runs, [], "filters apply");
    const bad = await idflow(["workflow", "search", "--since", "yesterday"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since "yesterday" is not a duration: write a number and a unit, like 30m/);
  });

  it("DO_WHILE iterations, a nested sub-workflow and a dynamic fork's branches", async () => {
    const name = uniqueName("obs_shapes");
    const inline = (ref: string, expression: string) => ({
      name: ref,
      taskReferenceName: ref,
      type: "INLINE",
      inputParameters: { evaluatorType: "javascript", expression },
    });
    const res = await client.upsertWorkflowDefs([
      { name: `${name}_child`, version: 1, schemaVersion: 2, ownerEmail: "test@idflow.dev", tasks: [inline("c1", "1+1")] },
      {
        name,
        version: 1,
        schemaVersion: 2,
        ownerEmail: "test@idflow.dev",
        tasks: [
          {
            name: "loop",
            taskReferenceName: "loop",
            type: "DO_WHILE",
            loopCondition: "if ($.loop['iteration'] < 3) { true; } else { false; }",
            loopOver: [inline("body", "2")],
          },
          { name: "sub", taskReferenceName: "sub", type: "SUB_WORKFLOW", subWorkflowParam: { name: `${name}_child`, version: 1 } },
          {
            name: "dyn",
            taskReferenceName: "dyn",
            type: "FORK_JOIN_DYNAMIC",
            dynamicForkTasksParam: "dynamicTasks",
            dynamicForkTasksInputParamName: "dynamicTasksInput",
            inputParameters: {
              dynamicTasks: [
                { name: "d1", taskReferenceName: "d1", type: "INLINE" },
                { name: "d2", taskReferenceName: "d2", type: "INLINE" },
              ],
              dynamicTasksInput: { d1: { evaluatorType: "javascript", expression: "1" }, d2: { evaluatorType: "javascript", expression: "2" } },
            },
          },
          { name: "dynjoin", taskReferenceName: "dynjoin", type: "JOIN" },
        ],
      },
    ]);
    assert.deepEqual(res.bulkErrorResults ?? {}, {});
    const id = await client.startWorkflow(name, {});
    const done = await waitForWorkflow(client, id, { timeoutMs: 60_000 });
    assert.equal(done.status, "COMPLETED", done.reasonForIncompletion);
    const out = await idflow(["workflow", "status", id, "--json"]);
    const tree = JSON.parse(out.stdout) as RunTree;
    const [loop, sub, dyn, join] = tree.tasks;
    assert.equal(tree.tasks.length, 4);
    assert.equal(loop.type, "DO_WHILE");
    assert.deepEqual(
      loop.iterations?.map((it) => [it.iteration, it.tasks.map((t) => [t.ref, t.name, t.status])]),
      [
        [1, [["body__1", "body", "COMPLETED"]]],
        [2, [["body__2", "body", "COMPLETED"]]],
        [3, [["body__3", "body", "COMPLETED"]]],
      ],
    );
    assert.equal(sub.type, "SUB_WORKFLOW");
    assert.equal(sub.subWorkflow?.name, `${name}_child`);
    assert.deepEqual(
      sub.subWorkflow?.tasks.map((t) => [t.ref, t.type, t.status]),
      [["c1", "INLINE", "COMPLETED"]],
    );
    assert.equal(dyn.type, "FORK_JOIN_DYNAMIC");
    assert.deepEqual(
      dyn.branches?.map((b) => b.map((t) => t.ref)),
      [["d1"], ["d2"]],
    );
    assert.equal(join.ref, "dynjoin");
    const text = await idflow(["workflow", "status", id]);
    assert.match(text.stderr, /├─ loop {2}DO_WHILE {2}COMPLETED {2}3 iterations/);
    assert.match(text.stderr, /│ {2}└─ iteration 3\n│ {5}└─ body__3 \(body\) {2}INLINE {2}COMPLETED/);
    assert.match(
      text.stderr,
      new RegExp(`├─ sub {2}SUB_WORKFLOW {2}COMPLETED.*\\n│ {2}└─ ${name}_child v1 {2}[0-9a-f-]{36} {2}COMPLETED.*\\n│ {5}└─ c1 {2}INLINE {2}COMPLETED`),
    );
  });

  it("status --watch redraws while the run goes on and returns when it ends (exit 0 for COMPLETED)", async () => {
    const name = uniqueName("obs_watch");
    const wf = await defineTaskAndWorkflow(client, name);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    runs.push(
      await runWorkers({
        client,
        registrations: [
          reg(
            name,
            async () => {
              await gate;
              return { ok: true };
            },
            { pollIntervalMs: 50 },
          ),
        ],
        stateDir: tempStateDir(),
        handleSignals: false,
      }),
    );
    const [id] = await startMany(client, wf, 1);
    const child = spawn(process.execPath, [bin, "workflow", "status", id, "--watch", "--interval", "0.2", "--server-url", testServerUrl()], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await until(() => /└─ t \(\S+\) {2}IN_PROGRESS/.test(err), 20_000, "the running task drawn");
      assert.equal(child.exitCode, null, "still watching while the run goes on");
      release();
      assert.equal(await exit, 0, err);
    } finally {
      release();
      if (child.exitCode === null) child.kill();
    }
    const frames = err.trimEnd().split("\n\n");
    assert.ok(frames.length >= 2, `a frame per change: ${err}`);
    assert.match(frames[0], new RegExp(`^${name}_wf v1  ${id}  RUNNING`));
    assert.match(frames[frames.length - 1], new RegExp(`^${name}_wf v1  ${id}  COMPLETED[^\n]*\n└─ t \\(${name}\\) {2}COMPLETED {2}worker `));
  });

  it("status of an unknown id is an error naming it", async () => {
    const res = await idflow(["workflow", "status", "no-such-workflow-id"]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /no workflow run with id no-such-workflow-id on http/);
  });

  it("list: the project's workflows beside the server's (same, differs, not uploaded, server only)", async () => {
    const root = tempStateDir();
    const name = uniqueName("obs_list");
    const def = (n: string, version: number, inline: string): WorkflowDef => ({
      name: n,
      version,
      schemaVersion: 2,
      ownerEmail: "test@idflow.dev",
      tasks: [{ name: "calc", taskReferenceName: "calc", type: "INLINE", inputParameters: { evaluatorType: "javascript", expression: inline } }],
    });
    const write = (d: WorkflowDef) => {
      mkdirSync(path.join(root, "workflows", d.name), { recursive: true });
      writeFileSync(path.join(root, "workflows", d.name, `${d.name}.json`), JSON.stringify(d, null, 2));
    };
    await client.upsertWorkflowDefs([def(`${name}_same`, 1, "1"), def(`${name}_differs`, 1, "1"), def(`${name}_server`, 1, "1")]);
    write(def(`${name}_same`, 1, "1"));
    write(def(`${name}_differs`, 1, "2"));
    write(def(`${name}_new`, 1, "1"));
    const res = await idflow(["workflow", "list", "--root", root, "--all", "--json"]);
    assert.equal(res.code, 0, res.stderr);
    const list = JSON.parse(res.stdout) as {
      workflows: Array<{ name: string; localVersion?: number; serverVersions: number[]; state: string; file?: string }>;
    };
    const mine = list.workflows.filter((w) => w.name.startsWith(name));
    assert.deepEqual(
      mine.map((w) => [w.name, w.localVersion, w.serverVersions, w.state]),
      [
        [`${name}_differs`, 1, [1], "differs"],
        [`${name}_new`, 1, [], "not-uploaded"],
        [`${name}_same`, 1, [1], "same"],
        [`${name}_server`, undefined, [1], "server-only"],
      ],
    );
    assert.equal(mine[0].file, `workflows/${name}_differs/${name}_differs.json`);
    const text = await idflow(["workflow", "list", "--root", root]);
    assert.match(text.stderr, new RegExp(`${name}_differs +v1 +v1 +differs from the server`));
    assert.doesNotMatch(text.stderr, new RegExp(`${name}_server`), "server-only ones need --all");
  });
});
