/**
 * `idflow dev` reloads, against the real Conductor, in a temp copy of the example project (never
 * the repository's own files): an edited task changes the next run's output without a restart,
 * a task running during the reload finishes on the old code, a syntax error keeps the last good
 * worker running and prints the file and line, a new folder is picked up, a changed workflow is
 * uploaded, and SIGINT stops everything with exit 0.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitForWorkflow } from "../../src/conductor/wait.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(repo, "cli/bin.js");
const project = mkdtempSync(path.join(os.tmpdir(), "idflow-dev-reload-"));
const children: Array<ReturnType<typeof spawn>> = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(project, { recursive: true, force: true });
});

/** Pids of the worker processes `idflow dev` started for this project (their environment names it). */
function workerProcesses(): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes("folder-boot") && environ.includes("IDFLOW_DEV_CHILD=") && environ.includes(project)) pids.push(Number(pid));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/** True once `pred` holds (checked for up to 10 s: a process takes a moment to go). */
async function settled(pred: () => boolean): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return pred();
}

/** A copy of the example text_stats folder under a name no other test uses, and a workflow for it. */
function makeProject(task: string, wf: string): string {
  cpSync(path.join(repo, "tsconfig.json"), path.join(project, "tsconfig.json"));
  mkdirSync(path.join(project, "node_modules"));
  symlinkSync(repo, path.join(project, "node_modules/idflow"), "dir");
  // the slugify_title example (copied below) has a dependency of its own (tasks/slugify_title/package.json)
  symlinkSync(path.join(repo, "node_modules/slugify"), path.join(project, "node_modules/slugify"), "dir");
  const src = readFileSync(path.join(repo, "tasks/text_stats/text_stats.ts"), "utf8");
  assert.ok(
    src.includes('name: "text_stats"') && src.includes("return { words, sentences, characters, readingTimeMinutes };"),
    "the example changed: update this test",
  );
  mkdirSync(path.join(project, "tasks/text_stats"), { recursive: true });
  const file = path.join(project, "tasks/text_stats/text_stats.ts");
  writeFileSync(file, src.replace('name: "text_stats"', `name: "${task}"`));
  const def = JSON.parse(readFileSync(path.join(repo, "workflows/direct_task_workflow/direct_task_workflow.json"), "utf8"));
  def.name = wf;
  def.tasks[0].name = task;
  mkdirSync(path.join(project, `workflows/${wf}`), { recursive: true });
  writeFileSync(path.join(project, `workflows/${wf}/${wf}.json`), JSON.stringify(def, null, 2));
  return file;
}

test("idflow dev reloads an edited task, keeps the last good version on a syntax error, picks up new folders and workflow changes", async () => {
  const task = uniqueName("dev_stats");
  const wf = uniqueName("dev_wf");
  const file = makeProject(task, wf);
  const original = readFileSync(file, "utf8");
  const url = testServerUrl();
  const client = testClient();
  const env = { ...process.env, IDFLOW_STATE_DIR: path.join(project, ".idflow"), NO_COLOR: "1", IDFLOW_LOG_LEVEL: "warn" };
  const dev = spawn(process.execPath, [bin, "dev", "--server-url", url], { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(dev);
  let err = "";
  dev.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => dev.on("exit", (code) => resolve(code)));
  const waitFor = async (re: RegExp, what: string, from = 0) => {
    const deadline = Date.now() + 90_000;
    while (!re.test(err.slice(from))) {
      assert.ok(Date.now() < deadline, `idflow dev: no ${what} in time:\n${err}`);
      assert.equal(dev.exitCode, null, `idflow dev exited early:\n${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const run = async (text: string) => {
    const id = await client.startWorkflow(wf, { text });
    return { id, done: waitForWorkflow(client, id, { timeoutMs: 60_000 }) };
  };

  await waitFor(/started 1 workers/, "start");
  assert.match(err, new RegExp(`workflow\\s+${wf}\\s+1\\s+created`));
  assert.deepEqual((await (await run("One two. Three!")).done).output, { words: 3, sentences: 2, characters: 15, readingTimeMinutes: 0 });

  // Edit 1: a slow path and a new output.
  let mark = err.length;
  writeFileSync(
    file,
    original.replace(
      "return { words, sentences, characters, readingTimeMinutes };",
      'if (text === "slow") await new Promise((r) => setTimeout(r, 4000));\n  return { words, sentences, characters, readingTimeMinutes: 42 };',
    ),
  );
  await waitFor(/reloaded tasks\/text_stats \(generation 2\)/, "reload after the first edit", mark);
  assert.equal((await (await run("One two.")).done).output?.readingTimeMinutes, 42, "the next run uses the edited code, without a restart");

  // A task running during a reload finishes on the old code.
  const slow = await run("slow");
  const deadline = Date.now() + 30_000;
  while ((await client.getWorkflow(slow.id, true)).tasks?.[0]?.status !== "IN_PROGRESS") {
    assert.ok(Date.now() < deadline, "the slow task never started");
    await new Promise((r) => setTimeout(r, 100));
  }
  mark = err.length;
  writeFileSync(
    file,
    original.replace("return { words, sentences, characters, readingTimeMinutes };", "return { words, sentences, characters, readingTimeMinutes: 43 };"),
  );
  await waitFor(/reloaded tasks\/text_stats \(generation 3\)/, "reload after the second edit", mark);
  assert.equal((await (await run("Fast one.")).done).output?.readingTimeMinutes, 43);
  const slowDone = await slow.done;
  assert.equal(slowDone.status, "COMPLETED");
  assert.equal(slowDone.output?.readingTimeMinutes, 42, "the task in flight finished on the code it started with");

  // A syntax error: the last good version keeps running, and dev says where.
  mark = err.length;
  writeFileSync(
    file,
    original.replace("return { words, sentences, characters, readingTimeMinutes };", "return { words, sentences, characters, readingTimeMinutes: 44 +};"),
  );
  await waitFor(/no longer loads/, "the load error", mark);
  assert.match(err.slice(mark), /tasks\/text_stats no longer loads; the last good version keeps running/);
  assert.match(err.slice(mark), /tasks\/text_stats\/text_stats\.ts:\d+:\d+/, "the file and line of the syntax error");
  assert.equal((await (await run("Still here.")).done).output?.readingTimeMinutes, 43, "the old worker still serves");

  // A new folder is picked up (and its task definition uploaded).
  const second = uniqueName("dev_slug");
  mark = err.length;
  mkdirSync(path.join(project, "tasks/shout"));
  writeFileSync(
    path.join(project, "tasks/shout/shout.ts"),
    `import { workerTask } from "idflow";\nexport const shout = workerTask({ name: "${second}" })(async (input: { text: string }) => ({ text: input.text.toUpperCase() }));\n`,
  );
  await waitFor(/loaded new tasks\/shout/, "the new folder", mark);
  assert.ok(await client.getTaskDef(second), "the new worker's task definition was uploaded");

  // A changed workflow is validated and uploaded.
  mark = err.length;
  const wfFile = path.join(project, `workflows/${wf}/${wf}.json`);
  const def = JSON.parse(readFileSync(wfFile, "utf8"));
  def.description = "edited while idflow dev runs";
  writeFileSync(wfFile, JSON.stringify(def, null, 2));
  await waitFor(new RegExp(`uploaded workflow ${wf} v1 \\(updated\\)`), "the workflow upload", mark);
  assert.equal((await client.getWorkflowDef(wf, 1))?.description, "edited while idflow dev runs");

  const alive = await settled(() => workerProcesses().length === 2);
  assert.ok(
    alive,
    `one worker process per task folder, the old generations exited: ${workerProcesses()
      .map((p) => readFileSync(`/proc/${p}/cmdline`, "utf8"))
      .join("; ")}`,
  );
  dev.kill("SIGINT");
  assert.equal(await exited, 0, err);
  assert.match(err, /stopped\s*$/);
  assert.ok(await settled(() => workerProcesses().length === 0), "no worker process left behind");
  client.close();
});
