/**
 * `npm run bench -- peers --quick` on the test server, so the harness cannot rot: every
 * contender must install (the Python SDK's venv included) and run the drain and the trickle.
 * The only contenders allowed to be absent are the `worker exec` ones, and only while this
 * build has no `idflow worker exec` (checked here independently of the bench). No timing is
 * asserted (the machine is shared); only that each figure was measured.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { testServerUrl } from "../support/conductor.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-peers-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const EXEC_CONTENDERS = ["exec-per-task", "exec-persistent"];

describe("bench peers --quick (real Conductor)", () => {
  it("runs every contender end to end and records each figure", async () => {
    const out = path.join(tmp, "peers.json");
    const { code, log } = await bench(["--out", out]);
    assert.equal(code, 0, `the quick benchmark failed:\n${log.slice(-6000)}`);

    const result = JSON.parse(readFileSync(out, "utf8"));
    const { CONTENDERS } = await import("../../bench/peers/contenders.ts");
    const help = spawnSync(process.execPath, [path.join(repo, "cli/bin.js"), "worker", "--help"], { encoding: "utf8" });
    const execBuilt = /idflow worker exec\b/.test(help.stdout + help.stderr);
    assert.deepEqual(Object.keys(result.contenders).sort(), CONTENDERS.map((c: { id: string }) => c.id).sort());
    for (const c of CONTENDERS as Array<{ id: string }>) {
      const entry = result.contenders[c.id];
      if (entry.skipped) {
        assert.ok(EXEC_CONTENDERS.includes(c.id) && !execBuilt, `contender ${c.id} was skipped: ${entry.skipped}`);
        continue;
      }
      const drain = result.cells.find((x: { shape: string; contender: string }) => x.shape === "drain" && x.contender === c.id);
      const trickle = result.cells.find((x: { shape: string; contender: string }) => x.shape === "trickle" && x.contender === c.id);
      assert.ok(drain?.runs.length === 1, `${c.id}: no drain figures\n${log.slice(-3000)}`);
      assert.ok(trickle?.runs.length === 1, `${c.id}: no trickle figures\n${log.slice(-3000)}`);
      const d = drain.runs[0];
      const t = trickle.runs[0];
      assert.equal(d.tasks, result.settings.drainN);
      assert.ok(d.tasksPerSecond > 0 && d.cpuMsPerTask > 0 && d.steadyCpuMsPerTask >= 0 && d.peakRssMb > 0, `${c.id} drain: ${JSON.stringify(d)}`);
      assert.equal(t.tasks, result.settings.trickleN);
      assert.ok(t.pickupP50Ms >= 0 && t.pickupP99Ms >= t.pickupP50Ms, `${c.id} trickle: ${JSON.stringify(t)}`);
    }
    assert.deepEqual(result.failures, []);
    assert.match(log, /### drain\n/);
    assert.match(log, /\| 10 \| idflow \| 1 \|/);
  });

  it("--warm-worker: each drain by a worker that ran tasks first, idled, was stopped while the queue filled, then drained it all", async () => {
    const out = path.join(tmp, "peers-warm.json");
    const { code, log } = await bench(["--contenders", "idflow,loop-v2", "--warm-worker", "30", "--warm-idle", "2", "--out", out]);
    assert.equal(code, 0, `the quick benchmark with --warm-worker failed:\n${log.slice(-6000)}`);
    const result = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(result.settings.warmWorkerN, 30);
    assert.equal(result.settings.warmIdleS, 2);
    assert.deepEqual(result.failures, []);
    for (const id of ["idflow", "loop-v2"]) {
      const drain = result.cells.find((x: { shape: string; contender: string }) => x.shape === "drain" && x.contender === id);
      const d = drain?.runs[0];
      // Every queued task was drained after SIGCONT (none handed to the stopped worker and lost), and the worker's CPU was measured.
      assert.equal(d?.tasks, result.settings.drainN, `${id}: ${JSON.stringify(d)}\n${log.slice(-3000)}`);
      assert.ok(d.tasksPerSecond > 0 && d.cpuMsPerTask > 0, `${id} drain: ${JSON.stringify(d)}`);
    }
    assert.match(log, /each by a worker warmed with 30 tasks, then idle 2 s/);
  });
});

async function bench(args: string[]): Promise<{ code: number | null; log: string }> {
  let log = "";
  const child = spawn("npm", ["run", "bench", "--", "peers", "--quick", ...args], {
    cwd: repo,
    env: { ...process.env, CONDUCTOR_SERVER_URL: testServerUrl() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  return { code, log };
}
