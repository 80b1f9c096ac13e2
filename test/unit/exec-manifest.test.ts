/** Executable task folders: discovery of task.json, its errors (file, line, pointer, fix), env overrides, task definitions. */
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { discover } from "../../src/discovery/discover.ts";
import { toTaskDef } from "../../src/discovery/task-def.ts";
import type { DiscoveryResult } from "../../src/task/registration.ts";
import { scratchProject, type Scratch } from "../fixtures/discovery/scratch.ts";

const FILES: Record<string, string> = {
  "tasks/py_ok/task.json": JSON.stringify({ name: "py_ok", command: "python3", args: ["main.py"], retryCount: 0, concurrency: 3, mode: "lines" }, null, 2),
  "tasks/py_ok/main.py": "print('hi')\n",
  "tasks/script/task.json": JSON.stringify({ name: "script_task", command: "./run.sh" }),
  "tasks/script/run.sh": "#!/bin/sh\necho '{}'\n",
  "tasks/not_exec/task.json": JSON.stringify({ name: "not_exec", command: "./run.sh" }),
  "tasks/not_exec/run.sh": "#!/bin/sh\n",
  "tasks/no_command/task.json": `{\n  "name": "no_command",\n  "args": ["x.py"]\n}\n`,
  "tasks/shell_line/task.json": `{ "name": "shell_line", "command": "python3 main.py" }`,
  "tasks/bad_opts/task.json": `{\n  "name": "bad_opts",\n  "command": "python3",\n  "retryCount": -1,\n  "comand": "x",\n  "mode": "stream",\n  "isolation": "thread"\n}\n`,
  "tasks/not_on_path/task.json": `{ "name": "not_on_path", "command": "no-such-program-idflow" }`,
  "tasks/syntax/task.json": `{ "name": "syntax", "command": "python3", }`,
  "tasks/both/task.json": `{ "name": "both", "command": "python3" }`,
  "tasks/both/both.ts": `export const x = 1;`,
  "tasks/zz_dup/task.json": JSON.stringify({ name: "py_ok", command: "python3" }),
};

describe("executable task folders (task.json)", () => {
  let p: Scratch;
  let r: DiscoveryResult;
  const errs = (folder: string) => r.errors.filter((e) => e.folder.endsWith(`${path.sep}${folder}`)).map((e) => e.message);
  before(async () => {
    p = scratchProject(FILES);
    chmodSync(path.join(p.root, "tasks/script/run.sh"), 0o755);
    chmodSync(path.join(p.root, "tasks/not_exec/run.sh"), 0o644);
    r = await discover({ root: p.root, env: { CONDUCTOR_WORKER_py_ok_CONCURRENCY: "5" } });
  });
  after(() => p.cleanup());

  test("a valid manifest becomes a registration with its options, env overrides and the program", () => {
    const reg = r.registrations.find((x) => x.name === "py_ok")!;
    assert.ok(reg);
    assert.equal(reg.options.concurrency, 5, "CONDUCTOR_WORKER_* applies as for TypeScript workers");
    assert.deepEqual(reg.envOverrides, { concurrency: "CONDUCTOR_WORKER_py_ok_CONCURRENCY" });
    assert.deepEqual(reg.exec, { command: "python3", args: ["main.py"], cwd: path.join(p.root, "tasks/py_ok"), mode: "lines" });
    assert.equal(reg.sourceFile, path.join(p.root, "tasks/py_ok/task.json"));
    assert.equal(reg.symbol, "python3 main.py (persistent)");
    const def = toTaskDef(reg);
    assert.equal(def.name, "py_ok");
    assert.equal(def.retryCount, 0);
    assert.ok(!("command" in def) && !("mode" in def), "program keys stay out of the task definition");
    const script = r.registrations.find((x) => x.name === "script_task")!;
    assert.equal(script.exec?.command, path.join(p.root, "tasks/script/run.sh"), "a relative command resolves against the folder");
  });

  test("each problem names the file, line, pointer and the fix", () => {
    assert.deepEqual(errs("no_command"), [
      `tasks/no_command/task.json:1:1 #: "command" is missing: the program to run for each task\n    fix: add "command": "python3" (a name on PATH, or a path relative to tasks/no_command), and its arguments as "args"`,
    ]);
    assert.deepEqual(errs("shell_line"), [
      `tasks/shell_line/task.json:1:25 #/command: "command" "python3 main.py" holds spaces: it is one program, not a shell line\n    fix: write "command": "python3", "args": ["main.py"]`,
    ]);
    const bad = errs("bad_opts");
    assert.equal(bad.length, 4, bad.join("\n"));
    assert.match(bad[0], /^tasks\/bad_opts\/task\.json:6:3 #\/mode: "mode" must be one of "process", "lines", got "stream"/);
    assert.match(bad[1], /^tasks\/bad_opts\/task\.json:7:3 #\/isolation: "isolation" does not apply to an executable task.*\n {4}fix: remove "isolation"$/);
    assert.match(bad[2], /^tasks\/bad_opts\/task\.json:4:3 #\/retryCount: retryCount must be an integer >= 0, got -1/);
    assert.match(
      bad[3],
      /^tasks\/bad_opts\/task\.json:5:3 #\/comand: unknown option "comand".*\n {4}fix: remove it, or use one of: command, args, mode, name,/,
    );
    assert.match(errs("not_on_path")[0], /#\/command: "no-such-program-idflow" is not on PATH\n {4}fix: install it, or give its full path/);
    assert.match(errs("not_exec")[0], /#\/command: \.\/run\.sh is not executable\n {4}fix: chmod \+x .*run\.sh/);
    assert.match(errs("syntax")[0], /^tasks\/syntax\/task\.json:1:\d+ #: JSON syntax error: .*\n {4}fix: task\.json is strict JSON/);
    assert.match(errs("both")[0], /has both a task module \(both\.ts\) and a task\.json/);
    assert.match(errs("zz_dup")[0], /is a duplicate: "py_ok" is already registered by tasks\/py_ok\/task\.json/);
  });

  test("broken folders do not stop the others", () => {
    assert.deepEqual(r.registrations.map((x) => x.name).sort(), ["py_ok", "script_task"]);
  });
});
