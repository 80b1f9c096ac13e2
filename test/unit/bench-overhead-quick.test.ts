/**
 * `npm run bench -- overhead --quick` (no server: the benchmark serves the task endpoints from an
 * HTTP double), so the harness cannot rot. No timing is asserted (the machine is shared); only
 * that every contender ran to the end and each figure was measured, V8's own (--gc) included.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, it } from "node:test";

const repo = path.resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-overhead-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The raw JSON's part these tests read. */
interface OverheadResult {
  settings: { n: number };
  cells: Array<{ contender: string; concurrency: number; runs: Array<Record<string, number>> }>;
}

/** `npm run bench -- overhead <args> --out <file>`: the raw JSON and what it printed. */
async function overhead(name: string, args: string[]): Promise<{ result: OverheadResult; log: string }> {
  const out = path.join(tmp, `${name}.json`);
  let log = "";
  const child = spawn("npm", ["run", "bench", "--", "overhead", ...args, "--out", out], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 0, `the quick benchmark failed:\n${log.slice(-4000)}`);
  return { result: JSON.parse(readFileSync(out, "utf8")), log };
}

it("bench overhead --quick runs idflow and both loops against the double and records each figure", async () => {
  const { result, log } = await overhead("overhead", ["--quick", "--concurrency", "1,10"]);
  const got = result.cells.map((c: { contender: string; concurrency: number }) => `${c.contender}@${c.concurrency}`).sort();
  assert.deepEqual(got, ["idflow@1", "idflow@10", "loop-post@1", "loop-post@10", "loop-v2@1", "loop-v2@10"]);
  for (const cell of result.cells) {
    const [r] = cell.runs;
    assert.equal(r.tasks, result.settings.n);
    assert.ok(
      r.tasksPerSecond > 0 && r.cpuMsPerTask > 0 && r.steadyCpuMsPerTask >= 0 && r.contextSwitchesPerTask > 0,
      `${cell.contender}: ${JSON.stringify(r)}`,
    );
    // The double answers after 4 ms: the worker's main thread sleeps and wakes for its answers.
    assert.ok(r.wakeupsPerTask > 0, `${cell.contender}: ${JSON.stringify(r)}`);
    // The double's request counts: every contender polled for its first tasks, and each loop sent its results its own way.
    assert.ok(r.pollsPerTask > 0 && r.tasksPerPoll >= 1, `${cell.contender}: ${JSON.stringify(r)}`);
    if (cell.contender === "loop-post") assert.equal(r.updateV2Share, 0, JSON.stringify(r));
    if (cell.contender === "loop-v2") assert.equal(r.updateV2Share, 1, JSON.stringify(r));
  }
  assert.match(log, /\| 1 \| loop-v2 \| 1 \| [\d.]+ \([\d.]+×\)/, "the table gives each figure with its ratio to idflow");
});

it("bench overhead --gc reads V8's collections back into figures per task for each Node contender", async () => {
  // Enough tasks at a fast pace for young collections in each run's second half (--quick alone has 300).
  const { result, log } = await overhead("overhead-gc", ["--quick", "--gc", "--n", "4000", "--concurrency", "10", "--contenders", "idflow,loop-post"]);
  assert.deepEqual(result.cells.map((c) => c.contender).sort(), ["idflow", "loop-post"]);
  for (const cell of result.cells) {
    const [r] = cell.runs;
    // Every contender parses each task and builds its result: KBs of heap per task, collected young.
    assert.ok(r.allocatedKbPerTask > 1 && r.allocatedKbPerTask < 500, `${cell.contender}: ${JSON.stringify(r)}`);
    assert.ok(r.youngGcsPer1000Tasks > 0 && r.gcPauseUsPerTask > 0, `${cell.contender}: ${JSON.stringify(r)}`);
    assert.ok(r.fullGcs >= 0 && r.promotedKbPerTask >= 0, `${cell.contender}: ${JSON.stringify(r)}`);
  }
  assert.match(log, /heap KB allocated\/task, 2nd half/, "the table has the --gc columns");
});
