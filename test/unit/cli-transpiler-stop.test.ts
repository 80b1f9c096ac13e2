/**
 * `worker start` lets go of tsx's transpiler once its task modules are loaded (cli/bin.js). On a
 * cold transform cache (a fresh container) tsx starts esbuild's service, a child process of about
 * 18 MB, to transform the task files; it must not live as long as the worker. Where tsx runs its
 * hooks in the main thread (module.registerHooks: Node 22.22.3+, 24.11.1+), idflow must not start
 * a module-hooks thread of its own either (an isolate of about 18 MB, doing nothing). Run under
 * the second Node too (IDFLOW_TEST_SECOND_NODE), where tsx takes the other path.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(repo, "cli/bin.js");

/** The process's threads' names (Node names its own: MainThread, WorkerThread, V8Worker...; Node 20 calls them all "node"). */
function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim());
}

/** The process's children (from every thread): pid, command name and state (Z: exited, not reaped). */
function children(pid: number): Array<{ pid: number; name: string; state: string }> {
  const pids = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number),
  );
  return pids.flatMap((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const m = /^\d+ \((.*)\) (\S)/.exec(stat);
      return m ? [{ pid: p, name: m[1]!, state: m[2]! }] : [];
    } catch {
      return []; // gone between the listing and the read
    }
  });
}

function waitForLine(child: ChildProcess, re: RegExp, ms: number, seen: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; stderr:\n${seen.text}`)), ms);
    child.stderr!.on("data", (b: Buffer) => {
      seen.text += b.toString();
      if (re.test(seen.text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => reject(new Error(`worker start exited (${code}) before ${re}; stderr:\n${seen.text}`)));
  });
}

test("worker start on a cold tsx cache: no esbuild service and no idle hooks thread once its tasks are loaded", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "idflow-transpiler-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tmp = path.join(dir, "tmp"); // TMPDIR: tsx's transform cache starts empty here
  const project = path.join(dir, "project");
  mkdirSync(tmp);
  mkdirSync(path.join(project, "tasks/cold_noop"), { recursive: true });
  writeFileSync(
    path.join(project, "tasks/cold_noop/cold_noop.ts"),
    `import { workerTask } from ${JSON.stringify(path.join(repo, "src/index.ts"))};
export const coldNoop = workerTask({ name: "cold_noop" })(async (input: { n?: number }) => ({ n: input.n ?? 0 }));
`,
  );
  // Nothing listens on port 9: the workers start, then retry the poll with backoff.
  const child = spawn(process.execPath, [bin, "worker", "start", "--all", "--root", project, "--server-url", "http://127.0.0.1:9/api"], {
    cwd: project,
    env: { ...process.env, TMPDIR: tmp, NO_COLOR: "1", IDFLOW_LOG_FORMAT: "json" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  const pid = child.pid!;
  await waitForLine(child, /cannot reach Conductor/, 60_000, { text: "" });

  // The stop is asynchronous (a message to the hooks thread, or esbuild's stop() here): give it a moment.
  let live: ReturnType<typeof children> = [];
  let hooksThreads = 0;
  for (let i = 0; i < 50; i++) {
    live = children(pid).filter((c) => c.state !== "Z");
    hooksThreads = threadNames(pid).filter((n) => n === "WorkerThread").length;
    if (live.length === 0 && hooksThreads === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // The transform did happen (so the service was started), in this test's own cache.
  const cached = readdirSync(tmp).filter((d) => d.startsWith("tsx"));
  assert.ok(cached.length > 0 && cached.some((d) => readdirSync(path.join(tmp, d)).length > 0), `tsx wrote no transform cache under ${tmp}`);
  assert.deepEqual(
    live.map((c) => c.name),
    [],
    "a child process is still running after the task modules were loaded (esbuild's service should have been stopped)",
  );
  assert.equal(hooksThreads, 0, `worker threads left running: ${threadNames(pid).join(", ")}`);
});
