/** `idflow worker start` as a real process: SIGTERM under load drains and exits 0; a second signal exits 130. */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";
import { defineTaskAndWorkflow, startMany, taskStatuses, tempStateDir, until } from "../fixtures/runtime/helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../cli/bin.js");
const project = path.resolve(here, "../fixtures/runtime/project");
const client = testClient();
after(() => client.close());

function startCli(taskName: string, args: string[]): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  let err = "";
  const child = spawn(
    process.execPath,
    [bin, "worker", "start", "--all", "--root", project, "--server-url", testServerUrl(), "--log-format", "json", "--log-level", "debug", ...args],
    {
      env: { ...process.env, RT_SLOW_TASK_NAME: taskName, IDFLOW_STATE_DIR: tempStateDir() },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exit, stderr: () => err };
}

const repoRoot = path.resolve(here, "../..");
const started = (s: string) => (s.match(/"msg":"task started"/g) ?? []).length;

describe("idflow worker start (process, real Conductor)", () => {
  it("the example workflows complete with `idflow worker start --all --upload`", async () => {
    const { loadWorkflows } = await import("../../src/workflows/load.ts");
    const { upload } = await import("../../src/upload/upload.ts");
    const { discover } = await import("../../src/discovery/discover.ts");
    const { waitForWorkflow } = await import("../../src/conductor/wait.ts");
    const loaded = await loadWorkflows(repoRoot);
    await upload(client, {
      registrations: (await discover({ root: repoRoot })).registrations,
      workflows: loaded.workflows,
      root: repoRoot,
      workflowsOnly: true,
    });
    let err = "";
    const child = spawn(
      process.execPath,
      [bin, "worker", "start", "--all", "--upload", "--root", repoRoot, "--server-url", testServerUrl(), "--log-format", "json"],
      {
        env: { ...process.env, IDFLOW_STATE_DIR: tempStateDir() },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stderr!.on("data", (d) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await until(() => err.includes("started "), 30_000, "workers to start");
      const a = await client.startWorkflow("direct_task_workflow", { text: "Workers poll. Conductor schedules." });
      const b = await client.startWorkflow("research_blog_post_ideas", {
        topic: "Conductor workers",
        text: "Workers poll tasks. Conductor schedules them. TypeScript workers are pleasant.",
      });
      for (const id of [a, b]) {
        const w = await waitForWorkflow(client, id, { timeoutMs: 60_000 });
        assert.equal(w.status, "COMPLETED", `${w.workflowName ?? w.workflowType}: ${w.reasonForIncompletion ?? ""}`);
      }
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exit, 0, err);
  });

  it("SIGTERM under load: in-flight tasks finish and are reported, nothing stays IN_PROGRESS, exit 0", async () => {
    const name = uniqueName("rt_cli_term");
    const wf = await defineTaskAndWorkflow(client, name);
    const ids = await startMany(client, wf, 12, { ms: 1500 });
    const cli = startCli(name, ["--concurrency", "4"]);
    await until(() => started(cli.stderr()) >= 4, 30_000, "4 tasks in flight");
    cli.child.kill("SIGTERM");
    const code = await cli.exit;
    assert.equal(code, 0, cli.stderr());
    const statuses = await taskStatuses(client, ids);
    assert.ok(!statuses.includes("IN_PROGRESS"), statuses.join(","));
    const completed = statuses.filter((s) => s === "COMPLETED").length;
    assert.equal(completed, started(cli.stderr()), "every task that started was completed and reported");
    assert.ok(completed >= 4 && completed < 12, `completed ${completed}`);
    assert.ok(statuses.filter((s) => s === "SCHEDULED").length === 12 - completed, "the rest wait in the queue");
  });

  it("grace over: what is left is aborted and reported FAILED 'worker shutting down'; exit 0", async () => {
    const name = uniqueName("rt_cli_grace");
    const wf = await defineTaskAndWorkflow(client, name);
    const ids = await startMany(client, wf, 2, { ms: 60_000 });
    const cli = startCli(name, ["--concurrency", "2", "--shutdown-grace", "1"]);
    await until(() => started(cli.stderr()) >= 2, 30_000, "2 tasks in flight");
    const t0 = Date.now();
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exit, 0, cli.stderr());
    assert.ok(Date.now() - t0 < 8000, `stopped in ${Date.now() - t0} ms`);
    for (const id of ids) {
      const w = await client.getWorkflow(id, true);
      assert.equal(w.tasks?.[0].status, "FAILED");
      assert.equal(w.tasks?.[0].reasonForIncompletion, "worker shutting down");
    }
  });

  it("a second signal exits 130 at once", async () => {
    const name = uniqueName("rt_cli_twice");
    const wf = await defineTaskAndWorkflow(client, name);
    const ids = await startMany(client, wf, 1, { ms: 60_000 });
    const cli = startCli(name, []);
    await until(() => started(cli.stderr()) >= 1, 30_000, "a task in flight");
    cli.child.kill("SIGINT");
    await until(() => cli.stderr().includes("stopping (SIGINT)"), 10_000, "the first signal to be seen");
    const t0 = Date.now();
    cli.child.kill("SIGINT");
    assert.equal(await cli.exit, 130);
    assert.ok(Date.now() - t0 < 3000);
    await client.terminateWorkflow(ids[0], "test done");
  });
});
