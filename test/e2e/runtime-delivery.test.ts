/**
 * A dead or stopped worker loses no result (issue 8), with `idflow worker start` as a real process
 * against the real Conductor:
 *  - SIGKILL with results in hand (the server unreachable through a proxy the test cuts): the next
 *    start delivers them from the spool; each task completes once, with the first run's output;
 *  - SIGSTOP for 20 s while a long poll is open and a workflow starts: after SIGCONT the task the
 *    server handed out during the stop is run and completed, not left IN_PROGRESS;
 *  - a task's stray rejection / uncaught throw fails that task, and the pool goes on;
 *  - SIGTERM through the production command (the bin itself as the process, as in a container's
 *    exec form or a systemd unit) drains and exits 0.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { spoolDir } from "../../src/runtime/spool.ts";
import { testClient, testServerUrl, uniqueName } from "../support/conductor.ts";
import { defineTaskAndWorkflow, delay, startMany, tempStateDir, until, waitAll } from "../fixtures/runtime/helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../cli/bin.js");
const project = path.resolve(here, "../fixtures/runtime/project");
const client = testClient();
after(() => client.close());

interface Cli {
  child: ChildProcess;
  exit: Promise<number | null>;
  stderr: () => string;
}

/** `cli/bin.js worker start --all` run as the process itself (no node/npx in front: the bin's shebang). */
function startCli(serverUrl: string, stateDir: string, env: Record<string, string>, args: string[] = []): Cli {
  let err = "";
  const child = spawn(
    bin,
    ["worker", "start", "--all", "--root", project, "--server-url", serverUrl, "--log-format", "json", "--log-level", "debug", ...args],
    {
      env: { ...process.env, IDFLOW_STATE_DIR: stateDir, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code, sig) => resolve(code ?? (sig ? -1 : null))));
  return { child, exit, stderr: () => err };
}

const started = (s: string) => (s.match(/"msg":"task started"/g) ?? []).length;

/** Results written to the spool's segments (`{"p":id,...}` lines, src/runtime/spool.ts) and not marked done. */
function spooledPuts(stateDir: string): number {
  const dir = spoolDir(stateDir);
  const puts = new Set<string>();
  for (const f of existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".jsonl")) : []) {
    for (const line of readFileSync(path.join(dir, f), "utf8").split("\n")) {
      const m = /^\{"(p|d)":"([^"]+)"/.exec(line);
      if (m?.[1] === "p") puts.add(m[2]!);
      else if (m) puts.delete(m[2]!);
    }
  }
  return puts.size;
}

/** A TCP proxy to the real server that the test can cut (the server "unreachable" for one worker only). */
async function proxy(target: string): Promise<{ url: string; cut: () => void; close: () => Promise<void> }> {
  const u = new URL(target);
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((c) => {
    if (!open) return c.destroy();
    const s = net.connect(Number(u.port), u.hostname);
    sockets.add(c).add(s);
    c.pipe(s).pipe(c);
    const drop = () => {
      c.destroy();
      s.destroy();
      sockets.delete(c);
      sockets.delete(s);
    };
    c.on("error", drop).on("close", drop);
    s.on("error", drop).on("close", drop);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Each workflow: COMPLETED, one task, tried once (retryCount 0, pollCount 1). */
async function assertOneAttemptEach(ids: string[]): Promise<Array<Record<string, unknown>>> {
  const done = await waitAll(client, ids, 60_000);
  const outputs: Array<Record<string, unknown>> = [];
  for (const w of done) {
    assert.equal(w.status, "COMPLETED", `${w.workflowId}: ${w.reasonForIncompletion ?? ""}`);
    assert.equal(w.tasks?.length, 1, "exactly one attempt on the server");
    const t = w.tasks![0];
    assert.equal(t.status, "COMPLETED");
    assert.equal(t.retryCount, 0);
    assert.equal(t.pollCount, 1, "handed out once");
    outputs.push(t.outputData as Record<string, unknown>);
  }
  return outputs;
}

describe("worker process: nothing lost when it dies or stops (real Conductor)", { timeout: 240_000 }, () => {
  it("SIGKILL with results in hand: the next start delivers them from the spool", async () => {
    const name = uniqueName("rt_kill9");
    const wf = await defineTaskAndWorkflow(client, name, { responseTimeoutSeconds: 600 });
    const ids = await startMany(client, wf, 3, { ms: 2000 });
    const p = await proxy(testServerUrl());
    const stateDir = tempStateDir();
    const first = startCli(p.url, stateDir, { RT_SLOW_TASK_NAME: name }, ["--concurrency", "3"]);
    try {
      await until(() => started(first.stderr()) >= 3, 60_000, "3 tasks in flight");
      p.cut(); // the server is unreachable for this worker from now on
      await until(() => (first.stderr().match(/"msg":"task completed"/g) ?? []).length >= 3, 30_000, "3 results computed");
      await until(() => first.stderr().includes("cannot reach Conductor"), 30_000, "the failed delivery");
      // "task completed" is logged just before the result is written to the spool (within the same
      // millisecond, but a loaded machine can pause the process in between): kill only once all
      // three are there, which is what "results in hand" means.
      await until(() => spooledPuts(stateDir) >= 3, 30_000, "3 results in the spool");
    } finally {
      first.child.kill("SIGKILL");
      await p.close();
    }
    assert.equal(await first.exit, -1, "killed");
    for (const w of await Promise.all(ids.map((id) => client.getWorkflow(id, true))))
      assert.equal(w.tasks?.[0].status, "IN_PROGRESS", "nothing delivered before the kill");
    const second = startCli(testServerUrl(), stateDir, { RT_SLOW_TASK_NAME: name });
    let outputs: Awaited<ReturnType<typeof assertOneAttemptEach>>;
    try {
      outputs = await assertOneAttemptEach(ids).catch((err: Error) => {
        throw new Error(`${err.message}\nthe second start's log:\n${second.stderr().slice(-4000)}`);
      });
    } finally {
      second.child.kill("SIGTERM");
    }
    assert.equal(await second.exit, 0, second.stderr());
    assert.match(second.stderr(), /delivering 3 result\(s\) left in the spool/);
    assert.deepEqual(new Set(outputs.map((o) => o.pid)), new Set([first.child.pid]), "the results the killed process computed");
  });

  it("SIGSTOP for 20 s while a long poll is open and a workflow starts: after SIGCONT the task completes", async () => {
    const name = uniqueName("rt_sigstop");
    const wf = await defineTaskAndWorkflow(client, name, { responseTimeoutSeconds: 600 });
    const cli = startCli(testServerUrl(), tempStateDir(), { RT_SLOW_TASK_NAME: name }, ["--poll-timeout", "5000"]);
    let ids: string[] = [];
    try {
      await until(() => cli.stderr().includes("started "), 60_000, "the worker to start polling");
      await delay(1500); // a long poll is open now
      cli.child.kill("SIGSTOP");
      ids = await startMany(client, wf, 1, { ms: 10 });
      // The open long poll hands the task out while the process is stopped.
      await until(
        async () => (await client.getWorkflow(ids[0], true)).tasks?.[0]?.status === "IN_PROGRESS",
        15_000,
        "the server to hand the task to the stopped worker",
      );
      await delay(20_000);
      cli.child.kill("SIGCONT");
      const [out] = await assertOneAttemptEach(ids);
      assert.equal(out.pid, cli.child.pid);
      assert.match(cli.stderr(), /not running for/, "the stall is told apart from a hang");
      assert.doesNotMatch(cli.stderr(), /stopped moving: restarted/);
    } finally {
      cli.child.kill("SIGCONT");
      cli.child.kill("SIGTERM");
    }
    assert.equal(await cli.exit, 0, cli.stderr());
  });

  it("a task's stray rejection or uncaught throw fails that task; the pool goes on", async () => {
    const name = uniqueName("rt_stray");
    await defineTaskAndWorkflow(client, name, { responseTimeoutSeconds: 600 });
    const wf = `${name}_mode_wf`;
    await client.upsertWorkflowDefs([
      {
        name: wf,
        version: 1,
        schemaVersion: 2,
        ownerEmail: "test@idflow.dev",
        tasks: [{ name, taskReferenceName: "t", type: "SIMPLE", inputParameters: { mode: "${workflow.input.mode}" } }],
      },
    ]);
    const cli = startCli(testServerUrl(), tempStateDir(), { RT_STRAY_TASK_NAME: name, RT_SLOW_TASK_NAME: uniqueName("rt_unused") });
    try {
      await until(() => cli.stderr().includes("started "), 60_000, "the worker to start");
      const [rej] = await startMany(client, wf, 1, { mode: "reject" });
      const [thr] = await startMany(client, wf, 1, { mode: "throw" });
      const bad = await waitAll(client, [rej, thr], 60_000);
      assert.equal(bad[0].tasks?.[0].status, "FAILED");
      assert.match(String(bad[0].tasks?.[0].reasonForIncompletion), /unhandled promise rejection in the task: stray rejection from the task/);
      assert.equal(bad[1].tasks?.[0].status, "FAILED");
      assert.match(String(bad[1].tasks?.[0].reasonForIncompletion), /uncaught exception in the task: stray throw from a timer/);
      const ok = await startMany(client, wf, 2, { mode: "ok" });
      const outs = await assertOneAttemptEach(ok);
      assert.deepEqual(new Set(outs.map((o) => o.pid)), new Set([cli.child.pid]), "the same process, still alive, ran them");
    } finally {
      cli.child.kill("SIGTERM");
    }
    assert.equal(await cli.exit, 0, cli.stderr());
  });

  it("SIGTERM to the production command (the bin as the process) drains and exits 0", async () => {
    const name = uniqueName("rt_prod_term");
    const wf = await defineTaskAndWorkflow(client, name, { responseTimeoutSeconds: 600 });
    const ids = await startMany(client, wf, 2, { ms: 2000 });
    const cli = startCli(testServerUrl(), tempStateDir(), { RT_SLOW_TASK_NAME: name }, ["--concurrency", "2"]);
    await until(() => started(cli.stderr()) >= 2, 60_000, "2 tasks in flight");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exit, 0, cli.stderr());
    await assertOneAttemptEach(ids);
  });
});
