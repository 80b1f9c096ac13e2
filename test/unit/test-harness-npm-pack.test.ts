/**
 * The lock that keeps two `npm pack`s of one checkout apart (test/support/npm-pack.ts): processes
 * holding it never overlap, and a lock left by a process that died is taken over.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { lock } from "../support/npm-pack.ts";

const support = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../support/npm-pack.ts");
const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-pack-lock-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("npm pack lock", () => {
  it("three processes take it one after another, never two at once", async () => {
    const dir = path.join(tmp, "shared.lock");
    const script = `
      import { lock } from ${JSON.stringify(support)};
      const release = lock(${JSON.stringify(dir)});
      if (typeof release === "string") throw new Error(release);
      const start = Date.now();
      await new Promise((r) => setTimeout(r, 300));
      console.log(JSON.stringify([start, Date.now()]));
      release();`;
    const runs = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<[number, number]>((resolve, reject) =>
            execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], (err, stdout, stderr) =>
              err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as [number, number]),
            ),
          ),
      ),
    );
    runs.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < runs.length; i++) assert.ok(runs[i]![0] >= runs[i - 1]![1], `held at once: ${JSON.stringify(runs)}`);
  });

  it("a lock whose owner died is taken over at once", () => {
    const dir = path.join(tmp, "stale.lock");
    const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
    mkdirSync(dir);
    writeFileSync(path.join(dir, "pid"), dead.stdout.trim());
    const t0 = Date.now();
    const release = lock(dir);
    assert.equal(typeof release, "function");
    assert.ok(Date.now() - t0 < 2000, "waited for a dead owner");
    assert.equal(readFileSync(path.join(dir, "pid"), "utf8"), String(process.pid));
    (release as () => void)();
    assert.throws(() => readFileSync(path.join(dir, "pid")), /ENOENT/);
  });
});
