/**
 * Persistent mode ("lines"): one long-lived process per slot, so a Python or Go program pays its
 * start-up once, not per task. idflow writes each task as one JSON line on the program's stdin;
 * the program answers with one JSON line on stdout carrying the task's `taskId` and the same
 * fields as the per-task contract. stderr lines go to the log of the task the process is
 * running. A process runs one task at a time; the pool never holds more processes than the
 * worker has slots, because the poller never runs more tasks at once.
 *
 * A process that dies while running a task is reported FAILED (and a fresh one takes the next
 * task); one that answers garbage (not JSON, not an object, no or another taskId, a line past
 * the size limit, anything while idle) is killed the same way. An aborted task (execution
 * timeout, shutdown past the grace period) stops its process: that is the only way to stop
 * the work.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import type { Task } from "../conductor/types.ts";
import { checkAnswer, ProgramError, quoteTail, TAIL_LINES } from "./contract.ts";
import { LineSplitter, Tail } from "./lines.ts";
import { alive, terminateGroup, trackGroup } from "./process-group.ts";
import { describeCommand, programEnv, type ExecSpec } from "./spec.ts";

const MAX_STDERR_LINE = 64 * 1024;

interface Job {
  taskId: string;
  log: (line: string) => void;
  resolve: (answer: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

/** One long-lived program. */
class LineProcess {
  readonly child: ChildProcess;
  private job?: Job;
  private dead = false;
  private stopping?: Promise<void>;
  /** stderr lines written since the current task began (for its failure reason). */
  private stderrTail = new Tail(TAIL_LINES);
  readonly exited: Promise<void>;

  constructor(
    private readonly spec: ExecSpec,
    private readonly command: string,
    env: Record<string, string | undefined>,
    private readonly logger: Logger,
  ) {
    this.child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: programEnv(env), stdio: ["pipe", "pipe", "pipe"], detached: true, windowsHide: true });
    trackGroup(this.child);
    this.exited = new Promise<void>((resolve) => this.child.once("close", () => resolve()));
    const out = new LineSplitter(
      (line) => this.onLine(line),
      spec.maxOutputBytes,
      (n) => this.garbage(`a stdout line longer than ${n} bytes`),
    );
    const err = new LineSplitter((line) => {
      this.stderrTail.push(line);
      if (this.job) this.job.log(line);
      else this.logger.info({ pid: this.child.pid, stderr: line }, "persistent worker process wrote on stderr between tasks");
    }, MAX_STDERR_LINE);
    this.child.stdout!.on("data", (c: Buffer) => out.push(c));
    this.child.stdout!.on("end", () => out.end());
    this.child.stderr!.on("data", (c: Buffer) => err.push(c));
    this.child.stdin!.on("error", () => {}); // EPIPE when it died: 'exit' reports it
    this.child.once("error", (e: NodeJS.ErrnoException) => {
      this.dead = true;
      const hint = e.code === "ENOENT" ? "not found (give a path, or install it on PATH)" : e.code === "EACCES" ? "permission denied (chmod +x?)" : e.message;
      this.fail(new ProgramError(`cannot start ${command} in ${spec.cwd}: ${hint}`));
    });
    this.child.once("exit", (code, sig) => {
      this.dead = true;
      const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      if (this.job)
        this.fail(
          new ProgramError(
            `${command} (persistent) ${how} while running the task; a new process takes the next task${quoteTail("stderr", this.stderrTail.lines)}`,
          ),
        );
      else if (!this.stopping)
        this.logger.warn({ pid: this.child.pid, code, signal: sig }, `persistent worker process ${how} while idle; a new one starts with the next task`);
    });
  }

  get usable(): boolean {
    return !this.dead && !this.stopping && alive(this.child);
  }

  run(task: Task, log: (line: string) => void): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.job = { taskId: task.taskId, log, resolve, reject };
      this.stderrTail = new Tail(TAIL_LINES);
      this.child.stdin!.write(`${JSON.stringify(task)}\n`);
    });
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.child.stdin!.end();
      this.stopping = terminateGroup(this.child, this.spec.killGraceMs);
    }
    return this.stopping;
  }

  private fail(err: Error): void {
    const job = this.job;
    this.job = undefined;
    job?.reject(err);
  }

  private garbage(what: string): void {
    const task = this.job ? "the task" : "no task (it was idle)";
    this.logger.warn({ pid: this.child.pid, answer: what.slice(0, 300) }, "persistent worker process answered garbage: killed, a new one takes the next task");
    this.fail(
      new ProgramError(
        `${this.command} (persistent) answered garbage while running ${task}: ${what}; expected one JSON line like {"taskId":"…","status":"COMPLETED","output":{…}}. The process was killed; a new one takes the next task${quoteTail("stderr", this.stderrTail.lines)}`,
      ),
    );
    void this.stop();
  }

  private onLine(line: string): void {
    if (line.trim() === "" || this.stopping) return;
    const quoted = JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line);
    let answer: unknown;
    try {
      answer = JSON.parse(line);
    } catch (e) {
      this.garbage(`${quoted} is not JSON (${(e as Error).message})`);
      return;
    }
    if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
      this.garbage(`${quoted} is not a JSON object`);
      return;
    }
    const a = answer as Record<string, unknown>;
    if (!this.job) {
      this.garbage(`${quoted} arrived while no task was running`);
      return;
    }
    if (a.taskId !== this.job.taskId) {
      this.garbage(`the answer carries taskId ${JSON.stringify(a.taskId)}, but the task running is ${JSON.stringify(this.job.taskId)}`);
      return;
    }
    const job = this.job;
    this.job = undefined;
    const problem = checkAnswer(a);
    if (problem) job.reject(new ProgramError(`${this.command} (persistent): ${problem}${quoteTail("stderr", this.stderrTail.lines)}`));
    else job.resolve(a);
  }
}

export class LinePool {
  private readonly idle: LineProcess[] = [];
  private readonly all = new Set<LineProcess>();
  private readonly command: string;
  private closed = false;
  /** Processes started so far (a restart counts). */
  started = 0;

  constructor(
    private readonly spec: ExecSpec,
    private readonly logger: Logger,
  ) {
    this.command = describeCommand(spec);
  }

  /** Run `task` on an idle process (or a new one); resolves with the checked answer object. */
  async run(task: Task, ctx: { log: (line: string) => void; signal: AbortSignal }): Promise<Record<string, unknown>> {
    if (this.closed) throw new ProgramError(`${this.command} (persistent): the worker is shutting down`);
    if (ctx.signal.aborted) throw new ProgramError(`${this.command} (persistent): not run: ${String((ctx.signal.reason as Error)?.message ?? "aborted")}`);
    let proc: LineProcess | undefined;
    while ((proc = this.idle.pop()) && !proc.usable) this.all.delete(proc);
    if (!proc) {
      proc = new LineProcess(this.spec, this.command, { TASK_TYPE: task.taskType ?? task.taskDefName, POLL_DOMAIN: task.domain ?? undefined }, this.logger);
      this.started++;
      this.all.add(proc);
      const p = proc;
      void p.exited.then(() => this.all.delete(p));
    }
    const p = proc;
    const onAbort = () => void p.stop();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const answer = await p.run(task, ctx.log);
      if (p.usable && !this.closed) this.idle.push(p);
      return answer;
    } catch (err) {
      void p.stop();
      throw err;
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
    }
  }

  /** Stop every process (stdin closed, SIGTERM, SIGKILL after the grace delay); resolves when all have exited. */
  async dispose(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    await Promise.all([...this.all].map((p) => p.stop()));
  }
}
