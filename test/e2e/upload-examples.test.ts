/** `idflow worker upload` against a real Conductor: the repo's examples, twice; then run research_blog_post_ideas by hand. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { discover } from "../../src/discovery/discover.ts";
import { toTaskDef } from "../../src/discovery/task-def.ts";
import { sameDefinition } from "../../src/upload/compare.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import type { Task } from "../../src/conductor/types.ts";
import { testClient, testServerUrl } from "../support/conductor.ts";

const run = promisify(execFile);
const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");
const client = testClient();
after(() => client.close());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(repo, "cli/bin.js"), ...args, "--server-url", testServerUrl()], { cwd: repo });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("worker upload registers every example task and workflow; reading back gives what was sent; a second upload changes nothing", async () => {
  const dry = await cli("worker", "upload", "--root", repo, "--dry-run", "--json");
  assert.equal(dry.code, 0, dry.stderr);
  const first = await cli("worker", "upload", "--root", repo, "--json");
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout) as { definitions: Array<{ kind: string; name: string; version?: number; action: string }> };
  assert.deepEqual(
    JSON.parse(dry.stdout).definitions.map((d: { name: string }) => d.name),
    report.definitions.map((d) => d.name),
  );
  const names = report.definitions.map((d) => `${d.kind}:${d.name}`).sort();
  assert.deepEqual(names, [
    "task:draft_outline",
    "task:extract_keywords",
    "task:fetch_url",
    "task:readability",
    "task:slugify_title",
    "task:text_stats",
    "workflow:direct_task_workflow",
    "workflow:research_blog_post_ideas",
    "workflow:text_report",
  ]);

  const { registrations } = await discover({ root: repo });
  for (const reg of registrations) {
    const sent = toTaskDef(reg);
    const got = await client.getTaskDef(reg.name);
    assert.ok(got, `task ${reg.name} on the server`);
    for (const k of ["retryCount", "retryLogic", "retryDelaySeconds", "timeoutSeconds", "responseTimeoutSeconds", "description"] as const) {
      assert.deepEqual(got[k], sent[k], `${reg.name}.${k}`);
    }
    assert.ok(sameDefinition(sent, got, "taskDef"), `task ${reg.name} reads back as sent`);
  }
  for (const wf of (await loadWorkflows(repo)).workflows) {
    const got = await client.getWorkflowDef(wf.def.name, wf.def.version);
    assert.ok(got, `workflow ${wf.def.name} on the server`);
    assert.equal(got.tasks.length, wf.def.tasks.length);
    assert.deepEqual(got.outputParameters, wf.def.outputParameters);
    assert.deepEqual(
      got.tasks.map((t) => t.taskReferenceName),
      wf.def.tasks.map((t) => t.taskReferenceName),
    );
    assert.ok(sameDefinition(wf.def, got, "workflowDef"), `workflow ${wf.def.name} reads back as sent`);
  }

  const second = await cli("worker", "upload", "--root", repo);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /kind\s+name\s+version\s+action/);
  assert.match(second.stderr, /0 written, 9 unchanged/);
  assert.doesNotMatch(second.stderr, /\b(created|updated)\b/);
});

/** Outputs the example tasks would give (contract in the brief), so the test needs no worker runtime. */
function fakeOutput(task: Task): Record<string, unknown> {
  const input = task.inputData ?? {};
  const text = String(input.text ?? "");
  switch (task.taskDefName ?? task.taskType) {
    case "extract_keywords":
      return { keywords: ["conductor", "workers", "typescript", "workflows", "idflow"].slice(0, Number(input.limit ?? 5)) };
    case "text_stats": {
      const words = text.split(/\s+/).filter(Boolean).length;
      return {
        words,
        sentences: text.split(/[.!?]+/).filter((s) => s.trim()).length,
        characters: text.length,
        readingTimeMinutes: Math.max(1, Math.ceil(words / 200)),
      };
    }
    case "slugify_title":
      return {
        slug: String(input.title)
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, "-")
          .replace(/^-|-$/g, ""),
      };
    case "draft_outline":
      return { outline: [`Introduction to ${input.title}`, ...((input.keywords as string[]) ?? []).map((k) => `About ${k}`)] };
    default:
      return {};
  }
}

async function runByHand(input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = await client.startWorkflow("research_blog_post_ideas", input);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const wf = await client.getWorkflow(id, false);
    if (wf.status !== "RUNNING") {
      assert.equal(wf.status, "COMPLETED", wf.reasonForIncompletion);
      return wf.output ?? {};
    }
    for (const type of ["extract_keywords", "text_stats", "draft_outline", "slugify_title"]) {
      const tasks = await client.batchPoll(type, { workerId: "e2e-upload", count: 5, timeoutMs: 50 });
      for (const t of tasks) {
        await client.updateTask({
          taskId: t.taskId,
          workflowInstanceId: t.workflowInstanceId,
          workerId: "e2e-upload",
          status: "COMPLETED",
          outputData: fakeOutput(t),
        });
      }
    }
  }
  throw new Error(`workflow ${id} did not finish in 30 s`);
}

test("research_blog_post_ideas runs to COMPLETED on Conductor: fork, join, INLINE and both SWITCH paths", async () => {
  const long = Array.from({ length: 40 }, () => "Conductor runs workers written in TypeScript.").join(" ");
  const out = await runByHand({ topic: "Workers", text: long });
  assert.equal(out.depth, "long");
  assert.equal(out.title, "Workers: conductor, workers, typescript");
  assert.equal(out.slug, "workers-conductor-workers-typescript");
  assert.ok(Array.isArray(out.outline) && out.outline.length === 6, JSON.stringify(out));
  const short = await runByHand({ topic: "Short", text: "Just a few words." });
  assert.equal(short.depth, "short");
  assert.equal(short.outline ?? null, null);
  assert.equal(short.slug, "short-conductor-workers-typescript");
});
