/** Running one program per task, without Conductor: stdin/stdout of several MB, EPIPE, limits, start failures, aborts, the contract. */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { settleProcess, ProgramError } from "../../src/exec/contract.ts";
import { LineSplitter } from "../../src/exec/lines.ts";
import { runProcess } from "../../src/exec/run-process.ts";
import { RetryableError, TerminalError } from "../../src/task/errors.ts";
import { isInProgress } from "../../src/task/results.ts";
import { tempStateDir, until } from "../fixtures/runtime/helpers.ts";
import { gone, spec } from "../fixtures/exec/helpers.ts";

const task = (inputData: Record<string, unknown> = {}) => ({ taskId: "t1", workflowInstanceId: "w1", taskType: "x", inputData });
const script = (body: string) => {
  const file = path.join(tempStateDir(), "prog.sh");
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
};
const never = () => new AbortController().signal;

describe("runProcess", () => {
  test("an 8 MB input to a program that never reads it, and an 8 MB input echoed back whole", async () => {
    const big = task({ blob: "q".repeat(8 * 1024 * 1024) });
    const ignore = await runProcess({ spec: spec(script(`echo '{"status":"COMPLETED"}'`), []), task: big, log: () => {}, signal: never() });
    assert.equal(ignore.code, 0);
    assert.equal(ignore.stdout.trim(), '{"status":"COMPLETED"}');
    const echo = await runProcess({ spec: spec("cat", []), task: big, log: () => {}, signal: never() });
    assert.equal(echo.stdout, JSON.stringify(big));
  });

  test("stdout past the limit stops the program and fails the task", async () => {
    const o = await runProcess({ spec: spec("sh", ["-c", "yes x"], { maxOutputBytes: 1024 * 1024 }), task: task(), log: () => {}, signal: never() });
    assert.equal(o.overflowBytes, 1024 * 1024);
    assert.throws(() => settleProcess(o, () => {}), /wrote more than 1048576 bytes on stdout for one task and was stopped/);
  });

  test("a program that cannot start is a ProgramError saying why", async () => {
    await assert.rejects(
      runProcess({ spec: spec("no-such-program-idflow", []), task: task(), log: () => {}, signal: never() }),
      (e: Error) => e instanceof ProgramError && /cannot start no-such-program-idflow .*: not found/.test(e.message),
    );
    const notExec = path.join(tempStateDir(), "plain.sh");
    writeFileSync(notExec, "echo hi\n", { mode: 0o644 });
    await assert.rejects(runProcess({ spec: spec(notExec, []), task: task(), log: () => {}, signal: never() }), /permission denied/);
  });

  test("an abort stops the whole process group: SIGTERM, then SIGKILL for one that ignores it", async () => {
    const ctl = new AbortController();
    const pidfile = path.join(tempStateDir(), "pid");
    const p = runProcess({
      spec: spec(script(`trap '' TERM; sleep 600 & echo $! > ${pidfile}; wait`), [], { killGraceMs: 300 }),
      task: task(),
      log: () => {},
      signal: ctl.signal,
    });
    await until(() => existsSync(pidfile) && readFileSync(pidfile, "utf8").trim() !== "", 20_000, "the program to start");
    ctl.abort(new Error("stop"));
    const o = await p;
    assert.equal(o.signal, "SIGKILL");
    const child = Number(readFileSync(pidfile, "utf8"));
    await until(() => gone(child), 10_000, "the program's own child to be gone too");
  });

  test("stderr goes to the log line by line; the environment carries the task", async () => {
    const lines: string[] = [];
    const o = await runProcess({
      spec: spec(
        script(
          `echo "one" >&2; printf 'two\\nthree' >&2; echo "{\\"id\\":\\"$TASK_ID\\",\\"wf\\":\\"$WORKFLOW_ID\\",\\"ex\\":\\"$EXECUTION_ID\\",\\"type\\":\\"$TASK_TYPE\\"}"`,
        ),
        [],
      ),
      task: task(),
      log: (l) => lines.push(l),
      signal: never(),
    });
    assert.deepEqual(lines, ["one", "two", "three"]);
    assert.deepEqual(JSON.parse(o.stdout), { id: "t1", wf: "w1", ex: "w1", type: "x" });
  });
});

describe("the result contract", () => {
  const base = { command: "prog", code: 0, signal: null, stderrTail: [] as string[] };
  test("each status maps to the result vocabulary", () => {
    const logs: string[] = [];
    assert.deepEqual(
      settleProcess({ ...base, stdout: '{"status":"COMPLETED","output":{"a":1},"logs":["l1"]}' }, (l) => logs.push(l)),
      { a: 1 },
    );
    assert.deepEqual(logs, ["l1"]);
    const ip = settleProcess({ ...base, stdout: '{"status":"IN_PROGRESS","callbackAfterSeconds":5,"output":{"s":1}}' }, () => {});
    assert.ok(isInProgress(ip) && ip.callbackAfterSeconds === 5);
    assert.throws(
      () => settleProcess({ ...base, stdout: '{"status":"FAILED","reason":"r","output":{"o":1}}' }, () => {}),
      (e: RetryableError) => e instanceof RetryableError && e.message === "r" && e.output?.o === 1 && e.stack === undefined,
    );
    assert.throws(
      () => settleProcess({ ...base, stdout: '{"status":"FAILED_WITH_TERMINAL_ERROR"}' }, () => {}),
      (e: Error) => e instanceof TerminalError && /gave no reason/.test(e.message),
    );
  });
  test("misbehaviour is a ProgramError quoting what happened", () => {
    assert.throws(() => settleProcess({ ...base, code: 2, stdout: "a\nb\n", stderrTail: ["e1", "e2"] }, () => {}), {
      message: "prog exited with code 2; last stdout: a | b; last stderr: e1 | e2",
    });
    assert.throws(() => settleProcess({ ...base, code: null, signal: "SIGKILL", stdout: "" }, () => {}), { message: "prog was killed by SIGKILL" });
    assert.throws(() => settleProcess({ ...base, stdout: "[1]" }, () => {}), /the result must be a JSON object/);
    assert.throws(() => settleProcess({ ...base, stdout: '{"output":{}}' }, () => {}), /the result has no "status"/);
    assert.throws(() => settleProcess({ ...base, stdout: '{"status":"COMPLETED","output":[1]}' }, () => {}), /"output" must be a JSON object, got an array/);
    assert.throws(
      () => settleProcess({ ...base, stdout: '{"status":"IN_PROGRESS","callbackAfterSeconds":-1}' }, () => {}),
      /"callbackAfterSeconds" must be a number >= 0/,
    );
  });
});

test("LineSplitter: lines across chunks, CRLF, a last line without newline, an over-long line left out", () => {
  const got: string[] = [];
  const over: number[] = [];
  const s = new LineSplitter(
    (l) => got.push(l),
    10,
    (n) => over.push(n),
  );
  s.push(Buffer.from("ab"));
  s.push(Buffer.from("c\r\nde\n0123456789ABC\nz"));
  s.end();
  assert.deepEqual(got, ["abc", "de", "z"]);
  assert.equal(over.length, 1);
});
