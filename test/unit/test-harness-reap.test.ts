/** The harness's reaper (test/support/reap.ts): it stops a server a dead test left behind, and nothing else. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { isAlive } from "../../src/server/state.ts";
import { orphanedTestServers, reapOrphanedTestServers } from "../support/reap.ts";
import { until } from "../fixtures/runtime/helpers.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-reap-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A process that looks like `java ... -jar conductor-server-x-boot.jar` (a shell under the name java), in `cwd`. */
function fakeServer(cwd: string) {
  return spawn("/bin/sh", ["-c", "sleep 60; :", "-jar", "conductor-server-3.21.14-boot.jar"], {
    argv0: "/usr/lib/jvm/fake/bin/java",
    cwd,
    stdio: "ignore",
  });
}

test("a conductor java whose folder was deleted is reaped; one whose folder exists is left alone", async () => {
  const goneDir = path.join(tmp, "gone");
  const keptDir = path.join(tmp, "kept");
  mkdirSync(goneDir);
  mkdirSync(keptDir);
  const orphan = fakeServer(goneDir);
  const kept = fakeServer(keptDir);
  after(() => kept.kill("SIGKILL"));
  await until(() => isAlive(orphan.pid!) && isAlive(kept.pid!), 5000, "both to run");
  rmSync(goneDir, { recursive: true });
  const found = orphanedTestServers();
  assert.ok(found.includes(orphan.pid!), `the orphan (${orphan.pid}) is found: ${found}`);
  assert.ok(!found.includes(kept.pid!), "a server whose folder exists is not");
  const lines: string[] = [];
  reapOrphanedTestServers((l) => lines.push(l));
  await until(() => orphan.exitCode !== null || orphan.signalCode !== null, 5000, "the orphan to die");
  assert.equal(orphan.signalCode, "SIGKILL");
  assert.ok(isAlive(kept.pid!), "the other one still runs");
  assert.match(lines.join("\n"), new RegExp(`left behind \\(folder deleted\\): pid .*${orphan.pid}`));
});
