/** A task folder with its own package.json: its dependencies load, and missing ones are named before any import. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { discover } from "../../src/discovery/discover.ts";
import { scratchProject } from "../fixtures/discovery/scratch.ts";

const TASK = `import { workerTask } from "idflow";\nimport { shout } from "td-shout";\nexport const f = workerTask({ name: "td_own_deps" })(async () => ({ said: shout("hi") }));\n`;
const OWN_PACKAGE = JSON.stringify({ name: "@tasks/td_own_deps", private: true, type: "module", dependencies: { "td-shout": "^1.0.0" } });

function installShout(dir: string): void {
  const pkg = path.join(dir, "node_modules", "td-shout");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "td-shout", version: "1.0.0", type: "module", exports: "./index.js" }));
  writeFileSync(path.join(pkg, "index.js"), "export const shout = (s) => s.toUpperCase() + '!';\n");
}

test("a folder whose dependencies are not installed is named, with the fix, and not imported", async () => {
  const p = scratchProject({ "tasks/td_own_deps/td_own_deps.ts": TASK, "tasks/td_own_deps/package.json": OWN_PACKAGE });
  try {
    const r = await discover({ root: p.root });
    assert.deepEqual(r.registrations, []);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.file, path.join(p.root, "tasks/td_own_deps/package.json"));
    assert.match(r.errors[0]!.message, /tasks\/td_own_deps\/package\.json: dependencies not installed: td-shout: add "workspaces": \["tasks\/\*"\]/);
  } finally {
    p.cleanup();
  }
});

test("installed at the root (npm workspaces hoist there) or in the folder, the task loads and uses its dependency", async () => {
  for (const where of ["root", "folder"] as const) {
    const p = scratchProject(
      { "tasks/td_own_deps/td_own_deps.ts": TASK, "tasks/td_own_deps/package.json": OWN_PACKAGE },
      { packageJson: { name: "scratch", private: true, type: "module", workspaces: ["tasks/*"] } },
    );
    try {
      installShout(where === "root" ? p.root : path.join(p.root, "tasks/td_own_deps"));
      const r = await discover({ root: p.root });
      assert.deepEqual(r.errors, [], where);
      assert.deepEqual(await r.registrations[0]!.fn({}, {} as never), { said: "HI!" });
    } finally {
      p.cleanup();
    }
  }
});

test("the message says only `npm install` when the root already lists tasks/* as workspaces", async () => {
  const p = scratchProject(
    { "tasks/td_own_deps/td_own_deps.ts": TASK, "tasks/td_own_deps/package.json": OWN_PACKAGE },
    { packageJson: { name: "scratch", private: true, type: "module", workspaces: ["tasks/*"] } },
  );
  try {
    const r = await discover({ root: p.root });
    assert.match(r.errors[0]!.message, /dependencies not installed: td-shout: run `npm install` at the project root$/);
  } finally {
    p.cleanup();
  }
});
