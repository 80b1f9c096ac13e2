/**
 * `idflow server start | status | stop | logs` through the real CLI, each in its own temp
 * project. The lifecycle test starts a real Conductor twice (the second start must find the
 * first one's data); the error cases stop before a full start.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../../src/conductor/client.ts";
import { isAlive } from "../../src/server/state.ts";
import { uniqueName } from "../support/conductor.ts";
import { until } from "../fixtures/runtime/helpers.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(repo, "cli/bin.js");
const roots: string[] = [];
after(() => {
  for (const r of roots) {
    // Never leave a server behind, even when an assertion failed half-way.
    spawnSync(process.execPath, [bin, "server", "stop", "--root", r, "--timeout", "5"], { encoding: "utf8" });
    rmSync(r, { recursive: true, force: true });
  }
});

function project(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "idflow-server-cli-"));
  roots.push(dir);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously (a server start takes a while; do not block the test runner). */
function idflow(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  delete fullEnv.CONDUCTOR_SERVER_URL;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args, "--root", root], { env: fullEnv, cwd: root });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** One clear message: an `error:` line, and no stack trace. */
function assertCleanFailure(r: Run, pattern: RegExp, exitCode = 1): void {
  assert.equal(r.code, exitCode, `exit code; stderr was:\n${r.stderr}`);
  assert.match(r.stderr, /^error: /m);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at .+[:(]/m, "no stack trace without --verbose");
}

const stateOf = (root: string) => JSON.parse(readFileSync(path.join(root, ".idflow", "server.json"), "utf8"));
/** Alive and not a zombie waiting for its (re)parent to reap it. */
const alive = isAlive;

describe("idflow server", () => {
  test("start, status, start again, stop, and a second start keeps the data", async () => {
    const root = project();
    const first = await idflow(root, ["server", "start", "--port", "0"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Conductor \d+\.\d+\.\d+ is running at http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/);
    const state = stateOf(root);
    assert.equal(state.url, `http://127.0.0.1:${state.port}`);
    assert.ok(alive(state.pid));
    assert.ok(alive(state.menderPid), "the workflow mender runs beside the server");

    const status = await idflow(root, ["server", "status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.equal(s.running, true);
    assert.equal(s.healthy, true);
    assert.equal(s.url, state.url);
    assert.match(s.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(s.commandsUse, { url: state.url, source: "local-server" }, "other commands find the local server");

    const again = await idflow(root, ["server", "start", "--port", "0"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`already running at ${state.url}`));
    assert.equal(stateOf(root).pid, state.pid);

    const name = uniqueName("server_cli_def");
    const client = new ConductorClient({ serverUrl: state.url });
    await client.registerTaskDefs([{ name, timeoutSeconds: 0, description: "kept across restarts" }]);
    client.close();

    const logs = await idflow(root, ["server", "logs", "-n", "5"]);
    assert.equal(logs.code, 0);
    assert.equal(logs.stdout.trimEnd().split("\n").length, 5);

    const stop = await idflow(root, ["server", "stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stderr, /Conductor stopped/);
    assert.equal(alive(state.pid), false);
    await until(() => !alive(state.menderPid), 5000, "the mender to stop with the server");
    assert.match(readFileSync(path.join(root, ".idflow", "server", "mender.log"), "utf8"), /mender: watching http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(existsSync(path.join(root, ".idflow", "server.json")), false);
    const down = await idflow(root, ["server", "status"]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /no local Conductor is running/);

    const second = await idflow(root, ["server", "start", "--port", "0"]);
    assert.equal(second.code, 0, second.stderr);
    const client2 = new ConductorClient({ serverUrl: stateOf(root).url });
    try {
      const def = await client2.getTaskDef(name);
      assert.equal(def?.description, "kept across restarts", "the second start finds the first one's data");
    } finally {
      client2.close();
    }
    const stop2 = await idflow(root, ["server", "stop"]);
    assert.equal(stop2.code, 0, stop2.stderr);
  });

  test("no java: a missing --java / IDFLOW_JAVA path, or none on PATH", async () => {
    const root = project();
    assertCleanFailure(
      await idflow(root, ["server", "start"], { IDFLOW_JAVA: "/nonexistent/bin/java" }),
      /java not found at \/nonexistent\/bin\/java \(from IDFLOW_JAVA\)/,
    );
    const emptyPath = path.join(root, "empty-bin");
    mkdirSync(emptyPath);
    assertCleanFailure(
      await idflow(root, ["server", "start"], { PATH: emptyPath, JAVA_HOME: undefined, IDFLOW_JAVA: undefined }),
      /no java found: the local Conductor needs Java 17 or newer/,
    );
    // The same failure with --verbose shows where it came from.
    const verbose = await idflow(root, ["server", "start", "--verbose"], { IDFLOW_JAVA: "/nonexistent/bin/java" });
    assert.equal(verbose.code, 1);
    assert.match(verbose.stderr, /^\s+at .+/m, "--verbose shows the stack");
  });

  test("java too old", async () => {
    const root = project();
    const fake = path.join(root, "java");
    writeFileSync(fake, `#!/bin/sh\necho 'openjdk version "11.0.22" 2024-01-16' >&2\n`);
    chmodSync(fake, 0o755);
    assertCleanFailure(await idflow(root, ["server", "start", "--java", fake]), /is Java 11\.0\.22; the local Conductor needs Java 17 or newer/);
  });

  test("no mvn, when the jar is not resolved yet", async () => {
    const root = project();
    const emptyPath = path.join(root, "empty-bin");
    mkdirSync(emptyPath);
    const r = await idflow(root, ["server", "fetch", "--conductor-version", "3.21.9"], {
      PATH: emptyPath,
      IDFLOW_JAVA: process.env.IDFLOW_TEST_JAVA ?? findJava(),
      IDFLOW_CACHE_DIR: path.join(root, "cache"),
      MAVEN_HOME: undefined,
      M2_HOME: undefined,
      IDFLOW_MVN: undefined,
    });
    assertCleanFailure(r, /no mvn found: idflow fetches the Conductor server jar through Maven.*--jar/s);
  });

  test("a version Maven cannot resolve shows Maven's reason", async () => {
    const root = project();
    const r = await idflow(root, ["server", "start", "--port", "0", "--conductor-version", "0.0.1"], { IDFLOW_CACHE_DIR: path.join(root, "cache") });
    assertCleanFailure(r, /could not resolve the Conductor server jar org\.conductoross:conductor-server:0\.0\.1:jar:boot/);
    assert.match(r.stderr, /maven: .*(Could not|Failure|not found|resolve)/i, "Maven's own [ERROR] line is shown");
    assert.equal(existsSync(path.join(root, ".idflow", "server.json")), false);
  });

  test("port taken by another program", async () => {
    const root = project();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      assertCleanFailure(await idflow(root, ["server", "start", "--port", String(port)]), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken.*--port`));
    } finally {
      blocker.close();
    }
  });

  test("health timeout stops the server and shows the log tail", async () => {
    const root = project();
    const r = await idflow(root, ["server", "start", "--port", "0", "--health-timeout", "1"]);
    assertCleanFailure(r, /did not answer http:\/\/127\.0\.0\.1:\d+\/health within 1 s, so it was stopped/);
    assert.match(r.stderr, /The last lines of .*server\.log:\n {2}\| /);
    assert.match(r.stderr, /--health-timeout/);
    assert.equal(existsSync(path.join(root, ".idflow", "server.json")), false, "no state file is left behind");
  });

  test("a stale state file from a crashed server is noticed and removed", async () => {
    const root = project();
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const pid = Number(dead.stdout);
    const stateFile = path.join(root, ".idflow", "server.json");
    mkdirSync(path.dirname(stateFile), { recursive: true });
    const stale = {
      url: "http://127.0.0.1:1",
      pid,
      port: 1,
      jar: "/x.jar",
      java: "java",
      memory: false,
      logFile: "/x.log",
      configFile: "/x",
      startedAt: "",
      status: "running",
    };
    writeFileSync(stateFile, JSON.stringify(stale));
    const status = await idflow(root, ["server", "status"]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, new RegExp(`removed a stale state file: the server it names \\(pid ${pid}, http://127\\.0\\.0\\.1:1\\) is no longer running`));
    assert.equal(existsSync(stateFile), false);

    writeFileSync(stateFile, JSON.stringify(stale));
    const stop = await idflow(root, ["server", "stop"]);
    assert.equal(stop.code, 0);
    assert.match(stop.stderr, /removed a stale state file/);
    assert.equal(existsSync(stateFile), false);

    writeFileSync(stateFile, "{ not json");
    const broken = await idflow(root, ["server", "status"]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /removed a broken state file: .*server\.json is not valid JSON/);
  });

  test("logs before any start says so", async () => {
    const root = project();
    assertCleanFailure(await idflow(root, ["server", "logs"]), /no server log at .*server\.log yet: start the server with idflow server start/);
  });
});

function findJava(): string {
  const r = spawnSync("sh", ["-c", "command -v java"], { encoding: "utf8" });
  return r.stdout.trim() || "java";
}
