/**
 * What a finished execution leaves behind for the GC. Every execution's objects must die young:
 * an object literal with a getter (a `ctx.signal` getter, an Execution's `timedOut`) gets a map of
 * its own in V8's old space each time, whose pointer to the young getter kept the whole execution
 * (task, context, result) alive through every minor GC; about 10 KB per task was promoted into the
 * old space and only a full GC freed it. This counts the bytes the minor GCs promote while
 * executions run one after another (--trace-gc-nvp, in a child process).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { it } from "node:test";

const fixture = path.join(import.meta.dirname, "../fixtures/runtime/executions.ts");

it("executions die young: minor GCs promote (almost) nothing of them into the old space", () => {
  const n = 20_000;
  const r = spawnSync(process.execPath, [...process.execArgv, "--trace-gc-nvp", fixture, String(n)], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n");
  const window = lines.slice(lines.indexOf("BEGIN") + 1, lines.indexOf("END"));
  assert.ok(lines.includes("BEGIN") && lines.includes("END"), `the fixture did not run:\n${r.stdout.slice(-2000)}\n${r.stderr}`);
  const scavenges = window.filter((l) => / gc=s /.test(l));
  assert.ok(scavenges.length >= 3, `expected several minor GCs in the window (allocation goes on), saw ${scavenges.length}`);
  const promoted = scavenges.reduce((sum, l) => sum + Number(/ promoted=(\d+)/.exec(l)?.[1] ?? 0), 0);
  const perExecution = promoted / n;
  // Measured: about 8,000 bytes per execution before the fix, about 400 after it.
  assert.ok(perExecution < 1500, `minor GCs promoted ${promoted} bytes in ${scavenges.length} scavenges: ${perExecution.toFixed(0)} per execution`);
});
