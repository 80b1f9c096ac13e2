/**
 * Version-aware validation: our own fixtures (test/fixtures/workflows/versioned) give exactly
 * their expected issues for Conductor 3.21.14 and 3.32.3; the target version is chosen from the
 * flag, the server, the project setting, then the local server; the rule table is well formed.
 * (That the server agrees with these verdicts is test/e2e/workflows-version-agreement.test.ts.)
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../../src/conductor/client.ts";
import { formatIssue, type Issue } from "../../src/workflows/issues.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import { loadProjectConfig } from "../../src/workflows/project-config.ts";
import { RULES } from "../../src/workflows/rules/index.ts";
import { inRange, resolveTarget } from "../../src/workflows/target.ts";
import { validateWorkflows } from "../../src/workflows/validate.ts";
import { HttpDouble } from "../support/http-double.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/workflows/versioned");
const expected = JSON.parse(await readFile(path.join(root, "expected.json"), "utf8")) as Record<string, Record<string, string[]>>;
const { workflows } = await loadWorkflows(root);
const { config } = await loadProjectConfig(root);
const VERSIONS = ["3.21.14", "3.32.3"];

function issuesFor(name: string, version: string): Issue[] {
  const wf = workflows.find((w) => w.source.file === `workflows/${name}/${name}.json`);
  assert.ok(wf, `fixture ${name} exists`);
  return validateWorkflows([wf], { knownTasks: [], config, target: { version, source: "flag", reason: "test" } });
}

test("every versioned fixture has an expectation for both versions", () => {
  assert.deepEqual(workflows.map((w) => w.source.file.split("/")[1]).sort(), Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) assert.deepEqual(Object.keys(e).sort(), VERSIONS, name);
});

for (const name of Object.keys(expected)) {
  for (const version of VERSIONS) {
    test(`${name} for Conductor ${version}: ${expected[name][version].join(", ") || "no issue"}`, () => {
      const issues = issuesFor(name, version);
      assert.deepEqual(
        issues.map((i) => `${i.severity}:${i.rule}`),
        expected[name][version],
        issues.map(formatIssue).join("\n"),
      );
      for (const i of issues) {
        assert.ok(i.line && i.column && i.pointer.startsWith("/"), `file, line and pointer in ${formatIssue(i)}`);
        assert.equal(i.file, `workflows/${name}/${name}.json`);
      }
    });
  }
}

test("a rule that depends on the version says so, with the version validated for", () => {
  const [i] = issuesFor("graaljs_inline", "3.21.14");
  assert.equal(i.pointer, "/tasks/0/inputParameters/evaluatorType");
  assert.match(i.message, /Unknown evaluator/);
  assert.match(i.message, /\[rule for Conductor before 3\.21\.21; validated for 3\.21\.14\]/);
  const [h] = issuesFor("http_uri_top_level", "3.21.14");
  assert.match(h.message, /accepts from 3\.22\.1; Conductor 3\.21\.14 refuses it/);
  assert.match(h.hint ?? "", /http_request/);
});

test("warnings say what will happen: an empty loopCondition runs once, an empty joinOn does not wait", () => {
  assert.match(issuesFor("do_while_empty_condition", "3.32.3")[0].message, /runs the loop body once/);
  const [j] = issuesFor("join_empty_join_on", "3.32.3");
  assert.match(j.message, /without waiting for the branches/);
  assert.match(j.hint ?? "", /"joinOn": \["a", "b"\]/);
});

test("undeclared inputs: nothing when none are declared; once per name; never for _executedTime/_scheduledTime", () => {
  assert.deepEqual(issuesFor("inputs_not_declared", "3.32.3"), []);
  const issues = issuesFor("inputs_declared_once_per_name", "3.32.3");
  assert.deepEqual(
    issues.map((i) => [i.rule, i.pointer]),
    [["undeclared-input", "/tasks/0/inputParameters/a"]],
  );
});

test("an unknown type is a warning, a near-miss of a known type an error, a type the project serves nothing", () => {
  const [w] = issuesFor("custom_task_type", "3.32.3");
  assert.equal(w.severity, "warning");
  assert.match(w.message, /user-defined task/);
  assert.match(w.hint ?? "", /externalTasks/);
  const [e] = issuesFor("simple_typo", "3.21.14");
  assert.match(e.message, /did you mean "SIMPLE"/);
  assert.deepEqual(issuesFor("custom_type_with_worker", "3.21.14"), []);
  const [llm] = issuesFor("llm_task_type", "3.21.14");
  assert.match(llm.message, /system task of Conductor 3\.22\.0 and later; Conductor 3\.21\.14 does not have it/);
});

test("the rule table: unique ids, a description each, version ranges in order", () => {
  const ids = RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, `duplicate rule ids: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(", ")}`);
  for (const r of RULES) {
    assert.ok(r.description.length > 10, r.id);
    assert.ok(r.task || r.workflow, `${r.id} checks something`);
    if (r.versions?.from && r.versions.before) assert.ok(!inRange(r.versions.from, { before: r.versions.from }) && inRange(r.versions.from, r.versions), r.id);
  }
});

test("inRange: [from, before), release candidates as their release", () => {
  assert.equal(inRange("3.21.20", { before: "3.21.21" }), true);
  assert.equal(inRange("3.21.21", { before: "3.21.21" }), false);
  assert.equal(inRange("3.22.0", { from: "3.22.0" }), true);
  assert.equal(inRange("3.32.0-rc.5", { from: "3.32.0" }), true);
  assert.equal(inRange("3.9.1", { from: "3.21.0" }), false);
});

test("the target version: flag, then the server's answer, then idflow.config.json, then the local server", async () => {
  const double = await HttpDouble.start();
  const dir = await mkdtemp(path.join(os.tmpdir(), "idflow-target-"));
  const env = { IDFLOW_CACHE_DIR: path.join(dir, "cache"), IDFLOW_CONDUCTOR_VERSION: "3.21.22", PATH: "" };
  try {
    double.on("GET", "/api/admin/config", () => ({ json: { version: "3.32.3", buildDate: "x" } }));
    const client = new ConductorClient({ serverUrl: double.url });
    assert.deepEqual(await resolveTarget({ explicit: "3.22.3", client, configVersion: "3.21.14", env }).then((t) => [t.version, t.source]), ["3.22.3", "flag"]);
    const fromServer = await resolveTarget({ client, configVersion: "3.21.14", env });
    assert.deepEqual([fromServer.version, fromServer.source], ["3.32.3", "server"]);
    assert.match(fromServer.reason, /answers 3\.32\.3/);
    client.close();
    // A server that does not answer in time: the project's setting.
    const silent = new ConductorClient({ serverUrl: "http://127.0.0.1:9" });
    assert.deepEqual(await resolveTarget({ client: silent, serverTimeoutMs: 300, configVersion: "3.21.14", env }).then((t) => [t.version, t.source]), [
      "3.21.14",
      "config",
    ]);
    // Nothing else: the local server idflow would run (IDFLOW_CONDUCTOR_VERSION here; 3.21.22 is served as 3.21.14).
    const local = await resolveTarget({ client: silent, serverTimeoutMs: 300, stateDir: path.join(dir, "state"), env });
    assert.deepEqual([local.version, local.source], ["3.21.14", "local-pin"]);
    assert.match(local.reason, /no server answered/);
    silent.close();
  } finally {
    await double.close();
  }
});

test('idflow.config.json: "conductorVersion" must be a version', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "idflow-cfg-"));
  await mkdir(path.join(dir, "workflows"), { recursive: true });
  await writeFile(path.join(dir, "idflow.config.json"), JSON.stringify({ conductorVersion: "latest" }, null, 2));
  const bad = await loadProjectConfig(dir);
  assert.deepEqual(
    bad.issues.map((i) => [i.severity, i.pointer]),
    [["error", "/conductorVersion"]],
  );
  await writeFile(path.join(dir, "idflow.config.json"), JSON.stringify({ conductorVersion: "3.32.3" }));
  assert.equal((await loadProjectConfig(dir)).config.conductorVersion, "3.32.3");
});

test("workflow validate --conductor-version: validates for that version, says so, exit 2 on errors; a bad version is a usage error", async () => {
  const { execFile } = await import("node:child_process");
  const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const dir = await mkdtemp(path.join(os.tmpdir(), "idflow-cli-version-"));
  await mkdir(path.join(dir, "workflows/g"), { recursive: true });
  await writeFile(path.join(dir, "workflows/g/g.json"), await readFile(path.join(root, "workflows/graaljs_inline/graaljs_inline.json"), "utf8"));
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(repo, "cli/bin.js"), "workflow", "validate", "--root", dir, ...args],
        { env: { ...process.env, NO_COLOR: "1" } },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
      );
    });
  const old = await cli("--conductor-version", "3.21.14", "--json");
  assert.equal(old.code, 2, old.stderr);
  const report = JSON.parse(old.stdout) as { valid: boolean; conductorVersion: string; conductorVersionSource: string; errors: Issue[] };
  assert.deepEqual([report.valid, report.conductorVersion, report.conductorVersionSource], [false, "3.21.14", "flag"]);
  assert.deepEqual(
    report.errors.map((e) => e.rule),
    ["graaljs-evaluator"],
  );
  const recent = await cli("--conductor-version", "3.32.3");
  assert.equal(recent.code, 0, recent.stderr);
  assert.match(recent.stderr, /validated for Conductor 3\.32\.3 \(--conductor-version\)/);
  const bad = await cli("--conductor-version", "latest");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--conductor-version "latest" is not a version/);
});
