/** The peers benchmark's report pairs contenders run by run (bench/peers/report.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headToHead, type Cell } from "../../bench/peers/report.ts";

const drain = (contender: string, runIds: number[], tps: number[], cpu: number[]): Cell => ({
  shape: "drain",
  concurrency: 10,
  contender,
  runs: tps.map((t, i) => ({ tasksPerSecond: t, steadyCpuMsPerTask: cpu[i] })),
  runIds,
});

describe("headToHead", () => {
  it("compares each contender with idflow in the same run, and counts the runs idflow was better in", () => {
    const cells = [
      drain("idflow", [1, 2, 3, 4], [100, 80, 120, 90], [1.0, 1.2, 0.9, 1.1]),
      // Run 2 failed for this contender: its run 3 must meet idflow's run 3, not its run 2.
      drain("sdk", [1, 3, 4], [110, 108, 99], [2.0, 1.8, 2.2]),
    ];
    const table = headToHead(cells);
    // tasks/s ratios 1.10, 0.90, 1.10 (median 1.10); idflow faster only in run 3.
    // CPU ratios 2.0, 2.0, 2.0; idflow cheaper in all three.
    assert.match(table, /\| 10 \| sdk \| 1\.10× \(idflow better in 1\/3\) \| 2\.00× \(idflow better in 3\/3\) \|/);
    assert.doesNotMatch(table, /\| idflow \|/);
  });

  it("says nothing when idflow did not run", () => {
    assert.equal(headToHead([drain("sdk", [1], [100], [1])]), "");
  });
});
