/**
 * `npm test`: starts ONE real Conductor (fresh SQLite file, free port, temp folder), hands its
 * URL to every test file as IDFLOW_TEST_SERVER_URL, runs node's test runner over
 * test/unit/*.test.ts and test/e2e/*.test.ts, and always stops the server and removes the folder.
 *
 *   npm test                      all tests
 *   npm test -- client server     only files whose path contains "client" or "server"
 *   npm run test:unit             unit tests only, no server
 *   IDFLOW_TEST_SERVER_URL=...    reuse a server you already run (nothing is started)
 *   IDFLOW_TEST_SECOND_JAVA=...   a JDK (home or java executable) of the other Conductor line: after
 *                                 the whole suite, every end-to-end file runs again on a server
 *                                 started with that Java (e.g. JDK 21+ -> Conductor 3.32)
 *   npm test -- --first-only | --second-only   one of the two passes
 *   IDFLOW_TEST_SECOND_NODE=...   another Node (a `node` executable, its folder, or a home with bin/node): after
 *                                 the passes above, every unit file runs again on it (e.g. Node 24
 *                                 when the default is 20: the GC tests see what only one Node does)
 *   IDFLOW_TEST_TIMEOUT_MS=...    per-test time limit (default 600000), so a hung test cannot hang the run
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../src/conductor/client.ts";
import { findJava, startLocalServer, stopLocalServer } from "../src/server/index.ts";
import { reapOrphanedTestServers } from "./support/reap.ts";

const SOURCE_CONDITION = "--conditions=idflow-source";
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const log = (line: string) => process.stderr.write(`[test] ${line}\n`);

const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const filters = args.filter((a) => !a.startsWith("--"));

function testFiles(dir: string): string[] {
  const full = path.join(root, "test", dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".test.ts"))
    .sort()
    .map((f) => path.join("test", dir, f));
}

const unit = testFiles("unit");
const e2e = unitOnly ? [] : testFiles("e2e");
const pick = (files: string[]) => (filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files);
const files = [...pick(unit), ...pick(e2e)];
const needServer = pick(e2e).length > 0;
const testTimeoutMs = Number(process.env.IDFLOW_TEST_TIMEOUT_MS ?? 600_000);

if (files.length === 0) {
  log(`no test files match ${filters.length ? filters.join(", ") : "test/unit or test/e2e"}`);
  process.exit(1);
}

let stateDir: string | undefined;
let runner: ChildProcess | undefined;
let cleaning: Promise<void> | undefined;

async function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (stateDir) {
      try {
        const stopped = await stopLocalServer({ stateDir, timeoutMs: 10_000 });
        if (stopped.stopped) log(`stopped the test server${stopped.forced ? " (killed after 10 s)" : ""}`);
      } catch (err) {
        log(`could not stop the test server: ${(err as Error).message}`);
      }
      rmSync(stateDir, { recursive: true, force: true });
      stateDir = undefined;
    }
  })();
  return cleaning;
}

let interrupts = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    interrupts++;
    log(`${sig}: stopping the tests and the server…`);
    if (runner && runner.exitCode === null) runner.kill(interrupts > 1 ? "SIGKILL" : "SIGTERM");
    void cleanup().then(() => process.exit(sig === "SIGINT" ? 130 : 143));
  });
}

/** Files that need both server lines (they move a server's data from one line to the other). */
const NEEDS_TWO_LINES = /server-line-change/;
/** Files about packaging, not about the server: the first pass covers them (unless asked for by name). */
const ONE_LINE_IS_ENOUGH = /package-adoption/;

interface Pass {
  /** The node that runs this pass's test files (undefined: the one running this script). */
  node?: string;
  /** The java that runs this pass's server (undefined: the one idflow finds by itself). */
  java?: string;
  /** The java of the other line, for tests that change lines (IDFLOW_TEST_OTHER_JAVA). */
  otherJava?: string;
  label: string;
  files: string[];
}

interface PassResult {
  label: string;
  code: number;
  seconds: number;
  server?: string;
  /** The other Node the pass ran on. */
  node?: string;
}

/** The executable a variable names: its value itself, or `<name>` in the folder it names, or `bin/<name>` in the home folder it names. */
function executableFrom(variable: string, name: string): string | undefined {
  const given = process.env[variable];
  if (!given) return undefined;
  return [path.join(given, "bin", name), path.join(given, name)].find((f) => existsSync(f)) ?? given;
}

/** Pass 2's Java: IDFLOW_TEST_SECOND_JAVA, a JDK home or a java executable. */
const secondJava = () => executableFrom("IDFLOW_TEST_SECOND_JAVA", "java");

/** The last pass's Node: IDFLOW_TEST_SECOND_NODE, a node executable, the folder that holds it, or a home with bin/node. */
const secondNode = () => executableFrom("IDFLOW_TEST_SECOND_NODE", "node");

async function runPass(pass: Pass, needsServer: boolean): Promise<PassResult> {
  const t0 = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Scratch projects link node_modules/idflow to this repository, where dist/ may not exist:
  // every Node process of the run resolves "idflow" to the source (package.json "exports").
  env.NODE_OPTIONS = [process.env.NODE_OPTIONS, SOURCE_CONDITION].filter(Boolean).join(" ");
  // Servers the tests start themselves (server CLI tests) run on this pass's Java too.
  if (pass.java) env.IDFLOW_JAVA = pass.java;
  if (pass.otherJava) env.IDFLOW_TEST_OTHER_JAVA = pass.otherJava;
  let server: string | undefined;
  let nodeLabel: string | undefined;
  if (needsServer) {
    const given = process.env.IDFLOW_TEST_SERVER_URL;
    if (given && !pass.java) {
      const client = new ConductorClient({ serverUrl: given });
      const ok = await client.healthy(5000);
      server = ok ? `${(await client.serverVersion()) ?? "?"} at ${given} (IDFLOW_TEST_SERVER_URL)` : undefined;
      client.close();
      if (!ok) {
        log(`IDFLOW_TEST_SERVER_URL=${given} does not answer /health: start it, or unset the variable to let the tests start their own server`);
        return { label: pass.label, code: 1, seconds: 0 };
      }
      log(`${pass.label}: using the server at ${given} (IDFLOW_TEST_SERVER_URL)`);
    } else {
      stateDir = mkdtempSync(path.join(os.tmpdir(), "idflow-test-server-"));
      log(`${pass.label}: starting a Conductor server${pass.java ? ` on ${pass.java}` : ""}…`);
      try {
        const { state } = await startLocalServer({
          stateDir,
          port: 0,
          java: pass.java,
          heap: process.env.IDFLOW_TEST_SERVER_HEAP ?? "1g",
          detached: false,
          env,
          onProgress: (line) => log(line.trim()),
        });
        env.IDFLOW_TEST_SERVER_URL = state.url;
        server = `Conductor ${state.version ?? "?"} on ${state.java}`;
        log(`${pass.label}: ${server} is up at ${state.url} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        log(`${pass.label}: could not start the Conductor server, so no test ran:\n${(err as Error).message}`);
        return { label: pass.label, code: 1, seconds: (Date.now() - t0) / 1000 };
      }
    }
  }
  if (pass.node) {
    // Child processes the tests start with process.execPath run on this node too.
    const version = spawnSync(pass.node, ["--version"], { encoding: "utf8" });
    if (version.status !== 0) {
      log(`${pass.label}: ${pass.node} does not run (${(version.error?.message ?? version.stderr).trim()}): check IDFLOW_TEST_SECOND_NODE`);
      return { label: pass.label, code: 1, seconds: 0 };
    }
    nodeLabel = `Node ${version.stdout.trim()} (${pass.node})`;
    log(`${pass.label}: on ${nodeLabel}`);
  }
  log(`${pass.label}: running ${pass.files.length} test file(s)${needsServer ? "" : " (no server needed)"}`);
  runner = spawn(pass.node ?? process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", `--test-timeout=${testTimeoutMs}`, ...pass.files], {
    cwd: root,
    env,
    stdio: "inherit",
  });
  const code = await new Promise<number>((resolve) => {
    runner!.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  runner = undefined;
  await cleanup();
  cleaning = undefined;
  reapOrphanedTestServers(log);
  return { label: pass.label, code, seconds: (Date.now() - t0) / 1000, server, node: nodeLabel };
}

async function main(): Promise<number> {
  const second = secondJava();
  const notRun: string[] = [];
  let passes: Pass[];
  if (second) {
    const first = needServer ? (await findJava({ env: process.env })).path : undefined;
    passes = [{ label: "pass 1", files, otherJava: second }];
    // The other server line runs every end-to-end file again (unit tests need no server).
    if (needServer && !args.includes("--first-only")) {
      passes.push({ label: "pass 2", java: second, otherJava: first, files: pick(e2e).filter((f) => !ONE_LINE_IS_ENOUGH.test(f) || filters.length > 0) });
    }
  } else {
    notRun.push(...files.filter((f) => NEEDS_TWO_LINES.test(f)));
    passes = [{ label: "pass 1", files: files.filter((f) => !NEEDS_TWO_LINES.test(f)) }];
  }
  if (args.includes("--second-only")) {
    if (!second) {
      log("--second-only needs IDFLOW_TEST_SECOND_JAVA (a JDK home or java executable for the other Conductor line)");
      return 2;
    }
    passes.shift();
  }
  if (!second && needServer) {
    log("one server line only: set IDFLOW_TEST_SECOND_JAVA to a JDK of the other line (e.g. a JDK 21+ for Conductor 3.32) to run the end-to-end tests on both");
  }
  if (passes.every((p) => p.files.length === 0)) {
    log(`no test file left to run: ${notRun.join(", ")} need(s) IDFLOW_TEST_SECOND_JAVA`);
    return 1;
  }
  const otherNode = secondNode();
  const unitFiles = pick(unit);
  if (otherNode && unitFiles.length && !args.includes("--second-only") && !args.includes("--first-only")) {
    passes.push({ label: `pass ${passes.length + 1}`, node: otherNode, files: unitFiles });
  }
  const results: PassResult[] = [];
  for (const pass of passes) results.push(await runPass(pass, needServer && !pass.node));
  log("summary:");
  for (const r of results) {
    log(
      `  ${r.label}: ${r.code === 0 ? "passed" : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(0)} s${r.server ? `, against ${r.server}` : ""}${r.node ? `, on ${r.node}` : ""}`,
    );
  }
  for (const f of notRun) log(`  NOT RUN: ${f} needs a JDK of the other Conductor line (IDFLOW_TEST_SECOND_JAVA)`);
  return results.find((r) => r.code !== 0)?.code ?? 0;
}

const code = await main().catch((err) => {
  log(`harness error: ${(err as Error).stack ?? err}`);
  return 1;
});
await cleanup();
process.exit(code);
