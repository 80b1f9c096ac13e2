/**
 * Adopting idflow in a project of one's own, as a user would: `npm pack` this repository, scaffold
 * a fresh project OUTSIDE it with the packed `idflow init`, install the tarball, add tasks with
 * `idflow task new` (and one folder with a dependency of its own), list, upload and run the
 * workers against the real Conductor until a workflow completes; plain Node imports the
 * package and the project's strict tsc reports no error. npm installs from its local cache.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { testServerUrl, uniqueName } from "../support/conductor.ts";
import { npmPack } from "../support/npm-pack.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-adopt-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// test/run.ts resolves "idflow" to this repository's source (NODE_OPTIONS --conditions); the
// user's project must see only the installed package, as on a user's machine.
const userEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
userEnv.NODE_OPTIONS = (process.env.NODE_OPTIONS ?? "").replace(/--conditions[= ]idflow-source/g, "").trim();
// not the repository's npm run context, nor this test runner's (a nested `node --test` would report to it)
for (const k of Object.keys(userEnv)) if (k.startsWith("npm_") || k === "NODE_TEST_CONTEXT") delete userEnv[k];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: userEnv, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
const ok = (r: Run, what: string) => assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
const npm = (args: string[], cwd: string) => run("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline"], cwd);

const fnTask = uniqueName("adopt_fn");
const classTask = uniqueName("adopt_cls");
const depsTask = uniqueName("adopt_deps");
const workflow = uniqueName("adopt_wf");

describe("idflow as an npm package in a project of one's own (real Conductor)", () => {
  let tarball = "";
  const app = path.join(tmp, "my-workers");
  const idflow = (args: string[], timeoutMs?: number) =>
    run(path.join(app, "node_modules", ".bin", "idflow"), [...args, "--server-url", testServerUrl()], app, timeoutMs);

  it("npm pack: a built package with no tests, fixtures, benchmarks or sources", async () => {
    // one pack of this checkout at a time (bench-peers-quick packs it too, maybe at the same time)
    const info = npmPack(repo, tmp, userEnv);
    if (typeof info === "string") assert.fail(`npm pack: ${info}`);
    const { files } = info;
    tarball = info.tarball;
    for (const needed of [
      "package.json",
      "README.md",
      "cli/bin.js",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/index.js.map",
      "dist/cli/main.js",
      "dist/src/runtime/thread-boot.mjs",
      "dist/src/dev/folder-boot.mjs",
      "schema/idflow.config.schema.json",
    ]) {
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    }
    const stray = files.filter(
      (f) =>
        /^(test|bench|tasks|workflows|\.ci|scripts|docs)\//.test(f) ||
        /(^|\/)fixtures\//.test(f) ||
        /\.test\.[cm]?[jt]s$/.test(f) ||
        (/\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f)),
    );
    assert.deepEqual(stray, [], "files users never run are in the tarball");
    const pkg = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8"));
    assert.equal(pkg.exports["."].types, "./dist/src/index.d.ts");
    assert.equal(pkg.exports["."].import, "./dist/src/index.js");
    // from the tarball: this checkout's dist/ may be rebuilt by another pack by now
    const map = JSON.parse(execFileSync("tar", ["-xOzf", tarball, "package/dist/src/index.js.map"], { encoding: "utf8" }));
    assert.deepEqual(map.sources, ["../../src/index.ts"], "source maps point back at src/");
    process.stderr.write(
      `# tarball ${path.basename(tarball)}: ${(info.size / 1024).toFixed(1)} kB packed, ${(info.unpackedSize / 1024).toFixed(1)} kB unpacked, ${files.length} files\n`,
    );
  });

  it("idflow init scaffolds a fresh project from the packed package", async () => {
    const r = await run("npm", ["exec", "--yes", `--package=${tarball}`, "--prefer-offline", "--", "idflow", "init", "my-workers", "--json"], tmp);
    ok(r, "idflow init");
    const res = JSON.parse(r.stdout) as { created: string[]; kept: string[]; added: string[] };
    assert.deepEqual(res.created.sort(), [
      ".gitignore",
      "README.md",
      "package.json",
      "tasks/hello/hello.test.ts",
      "tasks/hello/hello.ts",
      "tsconfig.json",
      "workflows/hello_workflow/hello_workflow.json",
    ]);
    const tsconfig = readFileSync(path.join(app, "tsconfig.json"), "utf8");
    for (const flag of ["strict", "exactOptionalPropertyTypes", "noUncheckedIndexedAccess"]) assert.match(tsconfig, new RegExp(`"${flag}": true`));
    assert.match(tsconfig, /TC39 standard decorators/);
    assert.match(readFileSync(path.join(app, ".gitignore"), "utf8"), /^\.idflow\/$/m);
    ok(await npm(["install", tarball], app), "npm install <tarball>");
  });

  it("idflow task new adds tasks in the project's style and refuses bad or taken names", async () => {
    ok(await idflow(["task", "new", fnTask]), "task new");
    ok(await idflow(["task", "new", classTask, "--class"]), "task new --class");
    assert.match(readFileSync(path.join(app, "tasks", classTask, `${classTask}.ts`), "utf8"), /@workerTask\(/);
    assert.ok(existsSync(path.join(app, "tasks", fnTask, `${fnTask}.test.ts`)));
    const taken = await idflow(["task", "new", fnTask]);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, new RegExp(`tasks/${fnTask} already exists`));
    const bad = await idflow(["task", "new", "no spaces"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"no spaces" is not a valid Conductor task name/);
  });

  it("a task folder with its own package.json: named while its dependency is missing, loaded once installed", async () => {
    const dir = path.join(app, "tasks", depsTask);
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ name: `@tasks/${depsTask}`, private: true, type: "module", dependencies: { slugify: "^1.6.9" } }, null, 2),
    );
    writeFileSync(
      path.join(dir, `${depsTask}.ts`),
      `import { workerTask } from "idflow";\nimport slugify from "slugify";\n\nexport const slug = workerTask({ name: "${depsTask}" })(async (input: { text?: string }) => ({ slug: slugify(input.text ?? "", { lower: true, strict: true }) }));\n`,
    );
    const before = await idflow(["worker", "list", "--json"]);
    assert.equal(before.code, 1, before.stderr);
    const listed = JSON.parse(before.stdout) as { errors: { folder: string; message: string }[] };
    assert.deepEqual(
      listed.errors.map((e) => e.folder),
      [`tasks/${depsTask}`],
    );
    assert.match(listed.errors[0]!.message, /dependencies not installed: slugify: run `npm install` at the project root/);
    ok(await npm(["install"], app), "npm install (workspaces)");
    const after = await idflow(["worker", "list", "--json"]);
    ok(after, "worker list");
    const names = (JSON.parse(after.stdout) as { workers: { name: string }[] }).workers.map((w) => w.name).sort();
    assert.deepEqual(names, [classTask, depsTask, fnTask, "hello"].sort());
  });

  it("plain Node imports the package; the project's strict tsc and its own tests pass", async () => {
    const imported = await run(process.execPath, ["-e", "import('idflow').then((m) => console.log(typeof m.workerTask, typeof m.TerminalError))"], app);
    ok(imported, "node -e import('idflow')");
    assert.equal(imported.stdout.trim(), "function function");
    const tsc = await run(path.join(app, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", "."], app);
    ok(tsc, "tsc --noEmit (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess)");
    assert.equal(tsc.stdout.trim(), "");
    const tests = await npm(["test"], app);
    ok(tests, "npm test in the project");
    assert.match(tests.stdout, /# pass 6/);
  });

  it("worker upload, worker start, and the workflows complete", async () => {
    const wfDir = path.join(app, "workflows", workflow);
    mkdirSync(wfDir);
    const wf = {
      name: workflow,
      version: 1,
      schemaVersion: 2,
      inputParameters: ["text"],
      tasks: [
        { name: fnTask, taskReferenceName: "fn", type: "SIMPLE", inputParameters: { text: "${workflow.input.text}" } },
        { name: classTask, taskReferenceName: "cls", type: "SIMPLE", inputParameters: { text: "${fn.output.result}" } },
        { name: depsTask, taskReferenceName: "slug", type: "SIMPLE", inputParameters: { text: "${cls.output.result}" } },
      ],
      outputParameters: { result: "${cls.output.result}", slug: "${slug.output.slug}" },
      timeoutPolicy: "ALERT_ONLY",
      timeoutSeconds: 0,
    };
    writeFileSync(path.join(wfDir, `${workflow}.json`), JSON.stringify(wf, null, 2));
    ok(await idflow(["worker", "upload"]), "worker upload");

    let err = "";
    const worker = spawn(
      path.join(app, "node_modules", ".bin", "idflow"),
      ["worker", "start", "--all", "--server-url", testServerUrl(), "--log-format", "json"],
      { cwd: app, env: userEnv, stdio: ["ignore", "ignore", "pipe"] },
    );
    worker.stderr!.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => worker.on("exit", (code) => resolve(code)));
    try {
      const r = await idflow(["workflow", "run", workflow, "--input", JSON.stringify({ text: "Café Owners" }), "--wait", "--json"]);
      ok(r, `workflow run ${workflow}\n${err}`);
      const out = JSON.parse(r.stdout) as { status: string; output: { result: string; slug: string } };
      assert.equal(out.status, "COMPLETED");
      assert.equal(out.output.result, `${classTask}: ${fnTask}: Café Owners`);
      assert.equal(out.output.slug, `${classTask}-${fnTask}-cafe-owners`.toLowerCase().replace(/_/g, ""));
    } finally {
      worker.kill("SIGTERM");
    }
    assert.equal(await exited, 0, `worker start did not exit cleanly:\n${err}`);
  });

  it("idflow dev suggests runs of this project's workflows only", async () => {
    let err = "";
    const dev = spawn(path.join(app, "node_modules", ".bin", "idflow"), ["dev", "--server-url", testServerUrl()], {
      cwd: app,
      env: userEnv,
      stdio: ["ignore", "ignore", "pipe"],
    });
    dev.stderr!.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => dev.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!/started \d+ workers/.test(err)) {
        assert.ok(Date.now() < deadline && dev.exitCode === null, `idflow dev did not start its workers:\n${err}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      dev.kill("SIGTERM");
    }
    assert.equal(await exited, 0, err);
    const suggested = [...err.matchAll(/npx idflow workflow run (\S+) --input '([^']*)' --wait/g)].map((m) => [m[1], JSON.parse(m[2]!)]);
    assert.deepEqual(
      suggested.sort(),
      [
        ["hello_workflow", { text: "Conductor schedules. Workers poll for tasks. Workers report results." }],
        [workflow, { text: "Conductor schedules. Workers poll for tasks. Workers report results." }],
      ].sort(),
    );
  });

  it("idflow init on the existing project adds only what is missing, and says so", async () => {
    const again = await idflow(["init", "--json"]);
    ok(again, "init again");
    const res = JSON.parse(again.stdout) as { created: string[]; added: string[]; kept: string[] };
    assert.deepEqual([res.created, res.added], [[], []]);
    const readmeBefore = statSync(path.join(app, "package.json")).mtimeMs;
    unlinkSync(path.join(app, "README.md"));
    renameSync(path.join(app, "tsconfig.json"), path.join(app, "tsconfig.keep"));
    const fill = await idflow(["init", "--json"]);
    ok(fill, "init after deleting files");
    const filled = JSON.parse(fill.stdout) as { created: string[]; added: string[] };
    assert.deepEqual(filled.created.sort(), ["README.md", "tsconfig.json"]);
    assert.deepEqual(filled.added, []);
    assert.equal(statSync(path.join(app, "package.json")).mtimeMs, readmeBefore, "package.json was rewritten");
  });
});
