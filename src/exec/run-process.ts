/**
 * Per-task mode: one process per task. The task JSON goes to stdin (a program that does not
 * read it is fine: EPIPE is ignored), stdout is collected whole (up to a limit), stderr goes
 * line by line to the task's log and its tail is kept for the failure reason. When the task's
 * signal aborts (execution timeout, shutdown past the grace period) the whole process group
 * gets SIGTERM, then SIGKILL.
 */
import { spawn } from "node:child_process";
import type { Task } from "../conductor/types.ts";
import type { ProcessOutcome } from "./contract.ts";
import { LineSplitter, Tail } from "./lines.ts";
import { signalGroup, terminateGroup, trackGroup } from "./process-group.ts";
import { describeCommand, programEnv, type ExecSpec } from "./spec.ts";
import { ProgramError, TAIL_LINES } from "./contract.ts";

/** Longest stderr line kept whole in the task's log (the executor trims further). */
const MAX_STDERR_LINE = 64 * 1024;
/** After the program exits, how long its stdout/stderr may stay open (held by something it started) before its group is killed. */
export const STREAM_DRAIN_MS = 1000;

/** The environment variables of the contract for one task. */
export function taskEnv(task: Task): Record<string, string | undefined> {
  return {
    TASK_TYPE: task.taskType ?? task.taskDefName,
    TASK_ID: task.taskId,
    WORKFLOW_ID: task.workflowInstanceId,
    EXECUTION_ID: task.workflowInstanceId,
    POLL_DOMAIN: task.domain ?? undefined,
  };
}

export interface RunProcessOptions {
  spec: ExecSpec;
  task: Task;
  /** A line for the task's log. */
  log: (line: string) => void;
  /** Aborts the run: the process group is stopped. */
  signal: AbortSignal;
  /** Told about each process's end (for dispose). */
  onSpawn?: (done: Promise<void>) => void;
}

/** Run the program once for `task`. Rejects with a ProgramError when it cannot be started. */
export function runProcess(opts: RunProcessOptions): Promise<ProcessOutcome> {
  const { spec, task, log, signal } = opts;
  const command = describeCommand(spec);
  if (signal.aborted) return Promise.reject(new ProgramError(`${command} was not started: ${String((signal.reason as Error)?.message ?? "aborted")}`));
  return new Promise<ProcessOutcome>((resolve, reject) => {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: programEnv(taskEnv(task)),
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      windowsHide: true,
    });
    trackGroup(child);
    let exited!: () => void;
    const ended = new Promise<void>((r) => (exited = r));
    opts.onSpawn?.(ended);

    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let overflowBytes: number | undefined;
    const stderrTail = new Tail(TAIL_LINES);
    const stderr = new LineSplitter(
      (line) => {
        stderrTail.push(line);
        log(line);
      },
      MAX_STDERR_LINE,
      (n) => log(`(a stderr line of more than ${n} bytes was left out)`),
    );

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= terminateGroup(child, spec.killGraceMs));
    const onAbort = () => void stop();
    signal.addEventListener("abort", onAbort, { once: true });

    child.stdout!.on("data", (chunk: Buffer) => {
      if (overflowBytes !== undefined) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > spec.maxOutputBytes) {
        overflowBytes = spec.maxOutputBytes;
        stdout.length = 0;
        void stop();
        return;
      }
      stdout.push(chunk);
    });
    child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
    // A program that exits without reading its input closes the pipe: not an error of ours.
    child.stdin!.on("error", () => {});
    child.stdin!.end(JSON.stringify(task));

    let drainTimer: NodeJS.Timeout | undefined;
    child.on("exit", () => {
      // Something the program started may still hold its stdout/stderr open: give the pipes a moment, then stop its group.
      drainTimer = setTimeout(() => {
        signalGroup(child, "SIGKILL");
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, STREAM_DRAIN_MS);
    });
    child.once("error", (err: NodeJS.ErrnoException) => {
      signal.removeEventListener("abort", onAbort);
      clearTimeout(drainTimer);
      exited();
      const hint =
        err.code === "ENOENT"
          ? `: not found (give a path, or install it on PATH)`
          : err.code === "EACCES"
            ? `: permission denied (is it executable? chmod +x)`
            : `: ${err.message}`;
      reject(new ProgramError(`cannot start ${command} in ${spec.cwd}${hint}`));
    });
    child.once("close", (code, sig) => {
      signal.removeEventListener("abort", onAbort);
      clearTimeout(drainTimer);
      stderr.end();
      exited();
      resolve({
        command,
        code,
        signal: sig,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderrTail: stderrTail.lines,
        ...(overflowBytes !== undefined ? { overflowBytes } : {}),
      });
    });
  });
}
