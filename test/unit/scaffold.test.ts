/** idflow init and idflow task new, in process: what they write, what they keep, what they refuse. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { discover } from "../../src/discovery/discover.ts";
import { initProject } from "../../src/scaffold/init.ts";
import { invalidTaskName, newTask } from "../../src/scaffold/task-new.ts";
import { identifier } from "../../src/scaffold/templates.ts";
import { scratchProject } from "../fixtures/discovery/scratch.ts";

test("init on an existing package.json adds only the missing fields and files, keeps every value, and notes a missing type", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "idflow-scaffold-"));
  try {
    const own = { name: "mine", scripts: { start: "node server.js" }, dependencies: { idflow: "file:../x.tgz" } };
    writeFileSync(path.join(dir, "package.json"), JSON.stringify(own));
    writeFileSync(path.join(dir, "README.md"), "my readme\n");
    const r = initProject(dir);
    assert.deepEqual(r.kept.sort(), ["README.md", "package.json"]);
    assert.ok(r.created.includes("tsconfig.json") && r.created.includes("tasks/hello/hello.ts") && !r.created.includes("README.md"));
    assert.deepEqual(r.added, [
      "package.json: workspaces",
      "package.json: scripts.workers",
      "package.json: scripts.upload",
      "package.json: scripts.test",
      "package.json: scripts.typecheck",
      "package.json: devDependencies.@types/node",
      "package.json: devDependencies.tsx",
      "package.json: devDependencies.typescript",
    ]);
    const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
    assert.equal(pkg.scripts.start, "node server.js");
    assert.equal(pkg.dependencies.idflow, "file:../x.tgz");
    assert.equal(pkg.type, undefined);
    assert.match(r.note ?? "", /no "type"/);
    assert.equal(readFileSync(path.join(dir, "README.md"), "utf8"), "my readme\n");
    const again = initProject(dir);
    assert.deepEqual([again.created, again.added], [[], []]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("init refuses a package.json that is not JSON, naming it, and writes nothing", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "idflow-scaffold-"));
  try {
    writeFileSync(path.join(dir, "package.json"), "{ nope");
    assert.throws(
      () => initProject(dir),
      (e: Error & { exitCode?: number }) => e.exitCode === 2 && /package\.json is not valid JSON/.test(e.message),
    );
    assert.equal(readFileSync(path.join(dir, "package.json"), "utf8"), "{ nope");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("task new: names Conductor would refuse, or discovery would skip, are refused", () => {
  assert.match(invalidTaskName("has space") ?? "", /not a valid Conductor task name/);
  assert.match(invalidTaskName("_hidden") ?? "", /skipped by discovery/);
  assert.match(invalidTaskName("a/b") ?? "", /not a valid/);
  assert.equal(invalidTaskName("send_invoice.v2-x"), undefined);
  assert.equal(identifier("send_invoice.v2-x"), "sendInvoiceV2X");
  assert.equal(identifier("2fa-check", true), "Task2faCheck");
});

for (const mode of ["experimental", "tc39"] as const) {
  test(`task new --class and plain, ${mode} decorators: discovered, callable, and a worker's name is taken`, async () => {
    const p = scratchProject({}, { experimentalDecorators: mode === "experimental" });
    try {
      const cls = await newTask(p.root, "sc_cls", { asClass: true });
      assert.equal(cls.mode, mode);
      assert.deepEqual(cls.created, ["tasks/sc_cls/sc_cls.ts", "tasks/sc_cls/sc_cls.test.ts"]);
      await newTask(p.root, "2fn-x", { asClass: false });
      const found = await discover({ root: p.root });
      assert.deepEqual(found.errors, []);
      assert.deepEqual(found.registrations.map((r) => r.name).sort(), ["2fn-x", "sc_cls"]);
      for (const r of found.registrations) assert.deepEqual(await r.fn({ text: "x" }, { log() {} } as never), { result: `${r.name}: x` });
      // the name is taken by a worker in another folder
      mkdirSync(path.join(p.root, "tasks/other"));
      writeFileSync(
        path.join(p.root, "tasks/other/other.ts"),
        `import { workerTask } from "idflow";\nexport const f = workerTask({ name: "renamed" })(async () => ({}));\n`,
      );
      await assert.rejects(newTask(p.root, "renamed", { asClass: false }), /a worker named "renamed" already exists in tasks\/other\/other\.ts/);
      await assert.rejects(newTask(p.root, "sc_cls", { asClass: false }), /tasks\/sc_cls already exists/);
    } finally {
      p.cleanup();
    }
  });
}
