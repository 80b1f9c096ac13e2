/**
 * `npm test`: starts ONE real Conductor (fresh SQLite file, free port, temp folder), hands its
 * URL to every test file as IDFLOW_TEST_SERVER_URL, runs node's test runner over
 * test/unit/*.test.ts and test/e2e/*.test.ts, and always stops the server and removes the folder.
 *
 *   npm test                      all tests
 *   npm test -- client server     only files whose path contains "client" or "server"
 *   npm run test:unit             unit tests only, no server
 *   IDFLOW_TEST_SERVER_URL=...    reuse a server you already run (nothing is started)
 *   IDFLOW_TEST_TIMEOUT_MS=...    per-test time limit (default 300000), so a hung test cannot hang the run
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../src/conductor/client.ts";
import { startLocalServer, stopLocalServer } from "../src/server/index.ts";

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
const testTimeoutMs = Number(process.env.IDFLOW_TEST_TIMEOUT_MS ?? 300_000);

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

async function main(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Scratch projects link node_modules/idflow to this repository, where dist/ may not exist:
  // every Node process of the run resolves "idflow" to the source (package.json "exports").
  env.NODE_OPTIONS = [process.env.NODE_OPTIONS, SOURCE_CONDITION].filter(Boolean).join(" ");
  if (needServer) {
    const given = process.env.IDFLOW_TEST_SERVER_URL;
    if (given) {
      const client = new ConductorClient({ serverUrl: given });
      const ok = await client.healthy(5000);
      client.close();
      if (!ok) {
        log(`IDFLOW_TEST_SERVER_URL=${given} does not answer /health: start it, or unset the variable to let the tests start their own server`);
        return 1;
      }
      log(`using the server at ${given} (IDFLOW_TEST_SERVER_URL)`);
    } else {
      stateDir = mkdtempSync(path.join(os.tmpdir(), "idflow-test-server-"));
      const t0 = Date.now();
      log("starting a Conductor server for this run…");
      try {
        const { state } = await startLocalServer({
          stateDir,
          port: 0,
          heap: process.env.IDFLOW_TEST_SERVER_HEAP ?? "1g",
          detached: false,
          onProgress: (line) => log(line.trim()),
        });
        env.IDFLOW_TEST_SERVER_URL = state.url;
        log(`Conductor ${state.version ?? ""} is up at ${state.url} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        log(`could not start the Conductor server, so no test ran:\n${(err as Error).message}`);
        return 1;
      }
    }
  }
  log(`running ${files.length} test file(s)${needServer ? "" : " (no server needed)"}`);
  runner = spawn(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", `--test-timeout=${testTimeoutMs}`, ...files], {
    cwd: root,
    env,
    stdio: "inherit",
  });
  return new Promise<number>((resolve) => {
    runner!.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const code = await main().catch((err) => {
  log(`harness error: ${(err as Error).stack ?? err}`);
  return 1;
});
await cleanup();
process.exit(code);
