/**
 * The overhead benchmark's `--gc` figures (bench/peers/gc-trace.ts): V8's --trace-gc-nvp lines
 * as this Node prints them, and the arithmetic over a window.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { it } from "node:test";
import { gcFigures, parseGcTrace, type GcEvent } from "../../bench/peers/gc-trace.ts";

it("reads the collections of one process from this Node's own --trace-gc-nvp output", () => {
  // About 64 MB of short-lived objects: young collections only, each reporting what was allocated since the one before.
  const script =
    "let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100) keep = []; } process.stdout.write('pid=' + process.pid + '\\n');";
  const r = spawnSync(process.execPath, ["--trace-gc-nvp", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(/pid=(\d+)/.exec(r.stdout)?.[1]);
  const events = parseGcTrace(`[1:0x1]    3 ms: not a collection\n${r.stdout}`, pid);
  assert.ok(events.length >= 3, `collections seen: ${events.length}\n${r.stdout.slice(0, 600)}`);
  assert.ok(
    events.every((e) => e.pid === pid && e.atMs >= 0 && e.kind.length > 0 && e.pauseMs >= 0 && e.allocated >= 0),
    JSON.stringify(events.slice(0, 3)),
  );
  assert.ok(
    events.some((e) => e.kind === "s"),
    "young collections are named gc=s",
  );
  const total = events.reduce((s, e) => s + e.allocated, 0);
  assert.ok(total > 16 * 2 ** 20, `allocated in all: ${total} bytes`);
  assert.deepEqual(parseGcTrace(r.stdout, pid + 1), [], "another process's lines are not read");
});

it("gives allocation as a rate between the window's first and last collections, and counts what falls inside", () => {
  const ev = (atMs: number, kind: string, allocated: number, promoted = 0, pauseMs = 1): GcEvent => ({ pid: 7, atMs, kind, pauseMs, allocated, promoted });
  // A collection every 100 ms, 1 MB allocated between two; a full collection at 350 ms.
  const events = [
    ev(0, "s", 5 << 20),
    ev(100, "s", 1 << 20),
    ev(200, "s", 1 << 20, 10240),
    ev(300, "s", 1 << 20),
    ev(350, "mc", 512 << 10, 0, 4),
    ev(400, "s", 512 << 10),
    ev(500, "s", 1 << 20),
  ];
  // 1000 tasks from 150 to 450 ms: inside, 200..400 (4 collections); between the first and the last, 2 MB in 200 ms, where 667 tasks ran.
  const g = gcFigures(events, 150, 450, 1000);
  assert.equal(g.allocatedKbPerTask, +((2 * 1024) / ((1000 * 200) / 300)).toFixed(2));
  assert.equal(g.youngGcsPer1000Tasks, 3);
  assert.equal(g.fullGcs, 1);
  assert.equal(g.promotedKbPerTask, 0.01);
  assert.equal(g.gcPauseUsPerTask, 7);
  // One collection in the window: no rate to give.
  assert.equal(gcFigures(events, 420, 480, 100).allocatedKbPerTask, null);
});
