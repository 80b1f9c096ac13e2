/**
 * `npm run bench -- hot-path --quick` (no server, no sockets: the benchmark's server is in memory),
 * so the harness cannot rot. No timing is asserted (the machine is shared); only that every
 * contender ran to the end and its figure was measured and tabled against idflow's.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, it } from "node:test";

const repo = path.resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-hot-path-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

it("bench hot-path --quick runs idflow, idflow without its spool and both loops, and records each one's CPU per task", async () => {
  const out = path.join(tmp, "hot-path.json");
  let log = "";
  const child = spawn("npm", ["run", "bench", "--", "hot-path", "--quick", "--out", out], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 0, `the quick benchmark failed:\n${log.slice(-4000)}`);
  const result = JSON.parse(readFileSync(out, "utf8"));
  assert.deepEqual(
    result.cells.map((c: { contender: string }) => c.contender),
    ["idflow", "idflow-spool-off", "loop-durable", "loop"],
  );
  for (const cell of result.cells) {
    assert.equal(cell.runs.length, 1);
    assert.ok(cell.runs[0].cpuUsPerTask > 0, `${cell.contender}: ${JSON.stringify(cell.runs)}`);
  }
  assert.match(log, /\| loop \| 1 \| [\d.]+ \([\d.]+×\) \|/, "the table gives each figure with its ratio to idflow");
});
