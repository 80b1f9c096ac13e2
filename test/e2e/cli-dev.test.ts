/**
 * The README's main job, as a user runs it: `idflow dev` uploads the examples and runs every
 * worker; `idflow workflow run ... --wait` prints the workflow's output; SIGTERM stops it cleanly.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { testServerUrl } from "../support/conductor.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(repo, "cli/bin.js");
const env = { ...process.env, IDFLOW_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), "idflow-dev-")), NO_COLOR: "1" };
const children: Array<ReturnType<typeof spawn>> = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

test("idflow dev uploads the examples and runs the workers; workflow run --wait prints the output; SIGTERM exits 0", async () => {
  const url = testServerUrl();
  const dev = spawn(process.execPath, [bin, "dev", "--server-url", url], { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(dev);
  let err = "";
  dev.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => dev.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!/started \d+ workers/.test(err)) {
    assert.ok(Date.now() < deadline, `idflow dev did not start its workers in time:\n${err}`);
    assert.equal(dev.exitCode, null, `idflow dev exited early:\n${err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(err, /workflow\s+direct_task_workflow\s+1\s+(created|updated|unchanged)/);
  assert.match(err, /text_stats/);

  const run = spawnSync(
    process.execPath,
    [bin, "workflow", "run", "direct_task_workflow", "--input", '{"text":"One two. Three!"}', "--wait", "--json", "--server-url", url],
    { cwd: repo, env, encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { status: string; output: Record<string, unknown> };
  assert.equal(out.status, "COMPLETED");
  assert.deepEqual(out.output, { words: 3, sentences: 2, characters: 15, readingTimeMinutes: 0 });

  dev.kill("SIGTERM");
  assert.equal(await exited, 0, err);
});

test("idflow dev with an unreachable --server-url says so and exits 1 without starting anything", () => {
  const r = spawnSync(process.execPath, [bin, "dev", "--server-url", "http://127.0.0.1:9"], { cwd: repo, env, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot reach Conductor at http:\/\/127\.0\.0\.1:9 \(from --server-url\)/);
  assert.doesNotMatch(r.stderr, /started \d+ workers|\n\s+at /);
});

test("workflow run refuses input that is not a JSON object, with exit 2", () => {
  const r = spawnSync(process.execPath, [bin, "workflow", "run", "direct_task_workflow", "--input", "[1]", "--server-url", testServerUrl()], {
    cwd: repo,
    env,
    encoding: "utf8",
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--input must be a JSON object/);
});
