/**
 * Benchmark: wall time of `idflow worker list --json` on 300 generated task folders (a new
 * process each run, as a user would see it), and, for comparison, importing the same 300
 * files with one `tsImport` per file (what a naive loader does: a fresh tsx loader each call).
 * Prints a table and writes bench/results/worker-list.json. Not a test: nothing fails on time.
 *   npm run bench -- worker-list     (FOLDERS=300 RUNS=5 to change the size)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..");
const FOLDERS = Number(process.env.FOLDERS ?? 300);
const RUNS = Number(process.env.RUNS ?? 5);

function makeProject(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "idflow-bench-list-"));
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "bench", private: true, type: "module" }));
  writeFileSync(path.join(root, "tsconfig.json"), JSON.stringify({ compilerOptions: { experimentalDecorators: true, target: "ES2022", module: "NodeNext" } }));
  mkdirSync(path.join(root, "node_modules"));
  symlinkSync(repo, path.join(root, "node_modules", "idflow"), "dir");
  for (let i = 0; i < FOLDERS; i++) {
    const name = `task_${String(i).padStart(3, "0")}`;
    const dir = path.join(root, "tasks", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "helper.ts"), `export const double = (n: number): number => n * 2;\n`);
    // Half decorated class methods, half wrapped functions: both styles cost the same to load.
    writeFileSync(
      path.join(dir, `${name}.ts`),
      i % 2 === 0
        ? `import { workerTask } from "idflow";\nimport { double } from "./helper.ts";\nexport class T${i} {\n  @workerTask({ name: "${name}", retryCount: 1, concurrency: 2 })\n  async run(input: { n: number }) { return { n: double(input.n) }; }\n}\n`
        : `import { workerTask } from "idflow";\nimport { double } from "./helper.ts";\nexport const t${i} = workerTask({ name: "${name}", timeoutSeconds: 60, responseTimeoutSeconds: 30 })(async (input: { n: number }) => ({ n: double(input.n) }));\n`,
    );
  }
  return root;
}

function wall(cmd: string[], cwd: string): { ms: number; status: number | null; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, cmd, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { ms: performance.now() - t0, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const root = makeProject();
try {
  const cli = path.join(repo, "cli", "bin.js");
  const listTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = wall([cli, "worker", "list", "--root", root, "--json"], root);
    if (r.status !== 0) throw new Error(`worker list exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
    const out = JSON.parse(r.stdout) as { workers: unknown[] };
    if (out.workers.length !== FOLDERS) throw new Error(`expected ${FOLDERS} workers, got ${out.workers.length}`);
    listTimes.push(r.ms);
  }
  // Baseline: the same process start, but nothing discovered (an empty tasks/ root).
  const emptyRoot = mkdtempSync(path.join(os.tmpdir(), "idflow-bench-empty-"));
  const baseTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) baseTimes.push(wall([cli, "worker", "list", "--root", emptyRoot, "--json"], emptyRoot).ms);
  rmSync(emptyRoot, { recursive: true, force: true });
  // Comparison: one tsImport per file (a fresh tsx namespace + loader per call).
  const naiveScript = path.join(root, "naive.mjs");
  writeFileSync(
    naiveScript,
    `import { tsImport } from ${JSON.stringify(path.join(repo, "node_modules/tsx/dist/esm/api/index.mjs"))};\n` +
      `import { readdirSync } from "node:fs";\nconst dirs = readdirSync("tasks").sort();\n` +
      `for (const d of dirs) await tsImport("./tasks/" + d + "/" + d + ".ts", { parentURL: import.meta.url, tsconfig: "./tsconfig.json" });\n`,
  );
  const naiveTimes: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const r = wall([naiveScript], root);
    if (r.status !== 0) throw new Error(`naive import failed: ${r.stderr.slice(0, 2000)}`);
    naiveTimes.push(r.ms);
  }

  const result = {
    bench: "worker-list",
    folders: FOLDERS,
    runs: RUNS,
    node: process.version,
    cpus: os.cpus().length,
    workerListMedianMs: Math.round(median(listTimes)),
    workerListRunsMs: listTimes.map(Math.round),
    emptyProjectMedianMs: Math.round(median(baseTimes)),
    perFolderMs: Math.round(((median(listTimes) - median(baseTimes)) / FOLDERS) * 100) / 100,
    naiveTsImportPerFileMedianMs: Math.round(median(naiveTimes)),
    at: new Date().toISOString(),
  };
  console.log(`\nidflow worker list --json, ${FOLDERS} task folders, ${RUNS} runs (new process each)`);
  console.log(`  median wall time          ${result.workerListMedianMs} ms   (runs: ${result.workerListRunsMs.join(", ")})`);
  console.log(`  same, empty project       ${result.emptyProjectMedianMs} ms   (process start + CLI)`);
  console.log(`  per task folder           ${result.perFolderMs} ms`);
  console.log(`  naive: tsImport per file  ${result.naiveTsImportPerFileMedianMs} ms   (import only, no CLI)`);
  mkdirSync(path.join(here, "results"), { recursive: true });
  writeFileSync(path.join(here, "results", "worker-list.json"), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
