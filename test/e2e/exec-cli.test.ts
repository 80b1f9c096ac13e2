/**
 * `idflow worker exec` and executable task folders as real processes against the real
 * Conductor: the README's examples in Python, Node, Go and shell (jq), persistent mode, SIGTERM
 * with programs still running, and an executable task folder in a workflow with TypeScript tasks.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { waitForWorkflow } from "../../src/conductor/wait.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";
import { startMany, tempStateDir, until, waitAll } from "../fixtures/runtime/helpers.ts";
import { defineExecWorkflow, examples, fixtures, gone, repoRoot } from "../fixtures/exec/helpers.ts";

const bin = path.join(repoRoot, "cli/bin.js");
const client = testClient();
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  client.close();
});

function cli(args: string[], cwd = repoRoot): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  let err = "";
  // Our flags go right after "worker exec|start": after `--`, everything belongs to the program.
  const child = spawn(process.execPath, [bin, ...args.slice(0, 2), "--server-url", testServerUrl(), "--log-format", "json", ...args.slice(2)], {
    cwd,
    env: { ...process.env, IDFLOW_STATE_DIR: tempStateDir() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exit, stderr: () => err };
}

describe("idflow worker exec (process, real Conductor)", () => {
  it("the README's examples in Python, Node, Go, shell with jq, and persistent Python complete", async () => {
    const goBin = path.join(tempStateDir(), "word_count");
    execFileSync("go", ["build", "-o", goBin, path.join(examples, "word_count.go")], { cwd: path.dirname(goBin), stdio: "pipe" });
    const programs: Array<{ by: string; argv: string[] }> = [
      { by: "python", argv: ["python3", "word_count.py"] },
      { by: "node", argv: ["node", "word_count.mjs"] },
      { by: "go", argv: [goBin] },
      { by: "jq", argv: ["./word_count.sh"] },
      { by: "python-lines", argv: ["--persistent", "--", "python3", "-u", "word_count_lines.py"] },
    ];
    const runs = await Promise.all(
      programs.map(async (p) => {
        const name = uniqueName(`exec_readme_${p.by.replace("-", "_")}`);
        const wf = await defineExecWorkflow(client, name);
        const c = cli(["worker", "exec", name, "--concurrency", "2", ...p.argv], examples);
        return { ...p, name, wf, c };
      }),
    );
    try {
      for (const r of runs) {
        await until(() => r.c.stderr().includes("polling ") || r.c.child.exitCode !== null, 60_000, `${r.by} worker to start`);
        assert.equal(r.c.child.exitCode, null, r.c.stderr());
      }
      const ids = await Promise.all(runs.map((r) => startMany(client, r.wf, 3, { text: "one two  three\nfour" })));
      for (const [i, r] of runs.entries()) {
        const done = await waitAll(client, ids[i], 90_000).catch(async (err) => {
          const states = await Promise.all(
            ids[i].map(async (id) => (await client.getWorkflow(id, true)).tasks?.map((t) => `${t.status} ${t.reasonForIncompletion ?? ""}`)),
          );
          throw new Error(`${r.by}: ${(err as Error).message}; tasks: ${JSON.stringify(states)}\n${r.c.stderr()}`);
        });
        for (const w of done) {
          assert.equal(w.status, "COMPLETED", `${r.by}: ${w.tasks?.[0]?.reasonForIncompletion} ${r.c.stderr()}`);
          assert.deepEqual(w.tasks![0].outputData, { words: 4, by: r.by });
        }
      }
      const py = (await waitAll(client, ids[0]))[0].tasks![0];
      const logs = await client.getTaskLogs(py.taskId);
      assert.ok(
        logs.some((l) => l.log === `counting words for task ${py.taskId}`),
        "the Python example's stderr is in the task's log",
      );
      const node = (await waitAll(client, ids[1]))[0].tasks![0];
      assert.ok(
        (await client.getTaskLogs(node.taskId)).some((l) => l.log === `task ${node.taskId}`),
        "the result's logs and TASK_ID reach Conductor",
      );
    } finally {
      for (const r of runs) r.c.child.kill("SIGTERM");
    }
    for (const r of runs) assert.equal(await r.c.exit, 0, `${r.by}: ${r.c.stderr()}`);
  });

  it("SIGTERM: a program that finishes within the grace period is reported COMPLETED; one that does not is stopped (group killed) and reported FAILED; exit 0", async () => {
    const name = uniqueName("exec_cli_term");
    const wf = await defineExecWorkflow(client, name);
    const pidfile = path.join(tempStateDir(), "pids");
    const c = cli(["worker", "exec", name, "--concurrency", "2", "--shutdown-grace", "3", "python3", "misbehave.py"], fixtures);
    const [napper] = await startMany(client, wf, 1, { do: "nap", bytes: 2 });
    const [sleeper] = await startMany(client, wf, 1, { do: "sleep", pidfile });
    await until(
      () => {
        try {
          return readFileSync(pidfile, "utf8").split(" ").length === 2;
        } catch {
          return false;
        }
      },
      60_000,
      "the sleeper to start",
    );
    const pids = readFileSync(pidfile, "utf8").split(" ").map(Number);
    c.child.kill("SIGTERM");
    assert.equal(await c.exit, 0, c.stderr());
    const nap = await client.getWorkflow(napper, true);
    assert.equal(nap.tasks![0].status, "COMPLETED", c.stderr());
    const sleep = await client.getWorkflow(sleeper, true);
    assert.equal(sleep.tasks![0].status, "FAILED");
    assert.equal(sleep.tasks![0].reasonForIncompletion, "worker shutting down");
    assert.ok(pids.every(gone), `processes ${pids.join(", ")} are gone once idflow has exited`);
  });

  it("usage errors exit 2 and say what to do", async () => {
    const none = cli(["worker", "exec", "some_task"]);
    assert.equal(await none.exit, 2);
    assert.match(none.stderr(), /name the program to run/);
    const missing = cli(["worker", "exec", "some_task", "no-such-program-idflow"]);
    assert.equal(await missing.exit, 2);
    assert.match(missing.stderr(), /cannot run no-such-program-idflow: "no-such-program-idflow" is not on PATH; install it, or give its full path/);
    process.env.CONDUCTOR_WORKER_exec_env_task_CONCURRENCY = "many";
    const badEnv = cli(["worker", "exec", "exec_env_task", "python3", "x.py"]);
    delete process.env.CONDUCTOR_WORKER_exec_env_task_CONCURRENCY;
    assert.equal(await badEnv.exit, 2);
    assert.match(badEnv.stderr(), /CONDUCTOR_WORKER_exec_env_task_CONCURRENCY must be an integer >= 1, got "many"/);
  });
});

describe("executable task folder with TypeScript tasks (real Conductor)", () => {
  it("text_report (text_stats, readability in Python, slugify_title) completes under `idflow worker start --all --upload`", async () => {
    const { loadWorkflows } = await import("../../src/workflows/load.ts");
    const { upload } = await import("../../src/upload/upload.ts");
    const { discover } = await import("../../src/discovery/discover.ts");
    const loaded = await loadWorkflows(repoRoot);
    await upload(client, {
      registrations: (await discover({ root: repoRoot })).registrations,
      workflows: loaded.workflows.filter((w) => w.def.name === "text_report"),
      root: repoRoot,
      workflowsOnly: true,
    });
    const c = cli(["worker", "start", "--all", "--upload", "--root", repoRoot]);
    try {
      await until(() => c.stderr().includes("started ") || c.child.exitCode !== null, 60_000, "workers to start");
      const id = await client.startWorkflow("text_report", { title: "Workers in Any Language", text: "The cat sat on the mat. It was happy." });
      const w = await waitForWorkflow(client, id, { timeoutMs: 60_000, includeTasks: true });
      assert.equal(w.status, "COMPLETED", `${w.reasonForIncompletion ?? ""} ${c.stderr()}`);
      assert.deepEqual(w.output, { slug: "workers-in-any-language", words: 9, readingTimeMinutes: 0, readingEase: 108.3, level: "easy" });
      const py = w.tasks!.find((t) => t.referenceTaskName === "readability_ref")!;
      assert.ok((await client.getTaskLogs(py.taskId)).some((l) => l.log === "9 words, 2 sentences, 10 syllables"));
    } finally {
      c.child.kill("SIGTERM");
    }
    assert.equal(await c.exit, 0, c.stderr());
  });
});
