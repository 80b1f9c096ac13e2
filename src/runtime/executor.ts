/**
 * The executor: runs one task function with its context and turns what happens into a
 * TaskResult. Plain object → COMPLETED; inProgress() → IN_PROGRESS; TerminalError →
 * FAILED_WITH_TERMINAL_ERROR; any other throw → FAILED (reason = message, stack in the logs);
 * an output JSON cannot carry, or no answer within execTimeoutSeconds → FAILED saying so.
 * `ctx.signal` aborts on timeout and on shutdown; a result that arrives after that is ignored
 * (and logged). With leaseExtend the executor heartbeats before responseTimeoutSeconds runs out.
 * Checkpoints, resume and cancellation live in checkpoint.ts, resume.ts and cancellation.ts: a
 * heartbeat or checkpoint that finds the task cancelled on the server aborts `ctx.signal` and
 * ends the execution with nothing to report (`cancelled`).
 */
import type { TaskLogger } from "../log.ts";
import type { ConductorClient } from "../conductor/client.ts";
import type { Task, TaskExecLog, TaskResult } from "../conductor/types.ts";
import type { TaskContext } from "../task/context.ts";
import { TerminalError, RetryableError, TaskCancelledError } from "../task/errors.ts";
import { isInProgress } from "../task/results.ts";
import type { Registration } from "../task/registration.ts";
import { batches, isBatchProgress } from "../task/batches.ts";
import { WORKER_DEFAULTS } from "../task/options.ts";
import { Checkpointer, readCheckpoint, type CheckpointEnvelope, type CheckpointOptions } from "./checkpoint.ts";
import { contextStorage } from "./context.ts";
import { findCheckpoint, resumeIsLocal } from "./resume.ts";
import { sameOutput, withOutputJson } from "./result-json.ts";

/** Why an execution was stopped from outside. */
export const SHUTDOWN_REASON = "worker shutting down";
/** Most log lines kept per execution (the rest are counted). */
export const MAX_LOG_LINES = 500;
/** Longest log line kept, in characters. */
export const MAX_LOG_LINE = 8192;

/** How the function is called: in-process by default, or in a worker thread (thread-runner.ts). */
export type Invoker = (reg: Registration, input: Record<string, unknown>, ctx: TaskContext) => Promise<unknown>;

/**
 * The task function, called at once inside its context (the context's store reaches every promise
 * and callback the call makes). Never throws: a synchronous throw is the promise's rejection. A
 * call, not a `Promise.resolve().then(...)` hop: an async function's own promise is passed on as
 * it is, two promises fewer per task (each one, with the context's hooks on, an init call and a
 * store more; docs/performance.md, "A worker that has been up a while").
 */
export const invokeInProcess: Invoker = (reg, input, ctx) => contextStorage.run(ctx, () => callTask(reg, input, ctx));

function callTask(reg: Registration, input: Record<string, unknown>, ctx: TaskContext): Promise<unknown> {
  try {
    return Promise.resolve(reg.fn(input, ctx));
  } catch (err) {
    return Promise.reject(err);
  }
}

export interface ExecuteOptions {
  client: ConductorClient;
  workerId: string;
  logger: TaskLogger;
  /** Abort and fail after this many seconds (0 = no limit). */
  execTimeoutSeconds: number;
  leaseExtend: boolean;
  invoke?: Invoker;
  /** Least ms between two checkpoint updates (default: the worker option, else WORKER_DEFAULTS). */
  checkpointIntervalMs?: number;
}

export interface Execution {
  readonly task: Task;
  /** Settles with the result to report (never rejects). */
  readonly result: Promise<TaskResult>;
  /** Stop now and report FAILED with this reason. */
  abort(reason: string): void;
  /** True when the execution timeout ended it. */
  readonly timedOut: boolean;
  /** True when the server cancelled the task (or gave it to another worker): its result must not be reported. */
  readonly cancelled: boolean;
}

export function execute(reg: Registration, task: Task, opts: ExecuteOptions): Execution {
  return new TaskExecution(reg, task, opts);
}

/**
 * One execution. A class, not closures around an object literal: a literal with a getter (such
 * as `ctx.signal`) gets a map of its own in V8's old space for every task, which pinned the whole
 * execution (task, context, result) through every minor GC until the next full one (about 10 KB
 * promoted per task: docs/performance.md). The checkpointer is made only when the task needs it.
 */
class TaskExecution implements Execution {
  readonly result: Promise<TaskResult>;
  timedOut = false;
  cancelled = false;
  readonly ctx: RunContext;
  private settled = false;
  private settle!: (r: TaskResult) => void;
  /** ctx.signal's controller, made when something asks for the signal or aborts it (most tasks do neither). */
  private controller?: AbortController;
  private logs?: TaskExecLog[];
  private droppedLogs = 0;
  private cp?: Checkpointer;
  private timeoutTimer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private readonly started = Date.now();
  private readonly base: Base;

  constructor(
    private readonly reg: Registration,
    readonly task: Task,
    private readonly opts: ExecuteOptions,
  ) {
    this.result = new Promise<TaskResult>((resolve) => (this.settle = resolve));
    this.base = { taskId: task.taskId, workflowInstanceId: task.workflowInstanceId, workerId: opts.workerId };
    this.ctx = new RunContext(this, task, reg, opts.workerId);
    if (opts.execTimeoutSeconds > 0) {
      this.timeoutTimer = setTimeout(() => {
        const reason = `execution timed out after ${opts.execTimeoutSeconds}s`;
        this.addLog(reason);
        opts.logger.warn(reason);
        this.timedOut = true;
        this.fail(reason);
      }, opts.execTimeoutSeconds * 1000);
    }
    const rts = Number(task.responseTimeoutSeconds ?? 0);
    if (opts.leaseExtend && rts > 0) {
      const every = Math.max(250, Math.floor(rts * 1000 * 0.5));
      this.leaseTimer = setInterval(() => {
        if (this.cp?.active) return; // checkpoints renew the lease themselves
        this.heartbeat().then(
          () => this.settled || opts.logger.debug("lease extended"),
          (err) => opts.logger.warn({ err: (err as Error).message }, "could not extend the lease"),
        );
      }, every);
      this.leaseTimer.unref?.();
    }
    if (resumeIsLocal(task)) this.begin(readCheckpoint(task.outputData));
    else
      findCheckpoint(opts.client, task, this.signal).then(
        (found) => this.begin(found),
        (err) => this.failed(err),
      );
  }

  /** The signal the task sees (ctx.signal). */
  get signal(): AbortSignal {
    return this.abortController().signal;
  }

  private abortController(): AbortController {
    return (this.controller ??= new AbortController());
  }

  /** Stop now and report FAILED with this reason. */
  abort(reason: string): void {
    if (this.settled) return;
    this.addLog(reason);
    this.fail(reason);
  }

  addLog(line: string): void {
    const logs = (this.logs ??= []);
    if (logs.length >= MAX_LOG_LINES) {
      this.droppedLogs++;
      return;
    }
    logs.push({ log: line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)}…` : line, taskId: this.task.taskId, createdTime: Date.now() });
  }

  async heartbeat(): Promise<void> {
    if (this.settled) return;
    await this.checkpoints().heartbeat();
  }

  checkpoint(state: unknown, o?: CheckpointOptions): Promise<void> {
    return this.settled ? Promise.resolve() : this.checkpoints().checkpoint(state, o);
  }

  private checkpoints(): Checkpointer {
    return (this.cp ??= new Checkpointer({
      client: this.opts.client,
      task: this.task,
      workerId: this.opts.workerId,
      intervalMs: this.opts.checkpointIntervalMs ?? this.reg.options.checkpointIntervalMs ?? WORKER_DEFAULTS.checkpointIntervalMs,
      logger: this.opts.logger,
      onLost: (reason) => this.cancel(reason),
    }));
  }

  /** Run the function, resuming from `found` (an earlier attempt's checkpoint) when there is one. */
  private begin(found: CheckpointEnvelope | undefined): void {
    if (found) {
      this.checkpoints().inherit(found);
      (this.ctx as { resumeFrom?: unknown }).resumeFrom = found.state;
      this.addLog(`resuming from checkpoint ${found.seq} saved by ${found.taskId} at ${new Date(found.savedAt).toISOString()}`);
      this.opts.logger.info({ seq: found.seq, from: found.taskId }, "resuming from a checkpoint");
    }
    if (this.settled) return;
    const invoke = this.opts.invoke ?? invokeInProcess;
    let running: Promise<unknown>;
    try {
      running = invoke(this.reg, this.task.inputData ?? {}, this.ctx);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (value) => {
        if (this.settled) {
          this.opts.logger.warn({ lateByMs: Date.now() - this.started }, "task returned after it was already reported (timed out or aborted): result ignored");
          return;
        }
        this.finish(mapValue(value, this.base));
      },
      (err) => this.failed(err),
    );
  }

  private failed(err: unknown): void {
    if (this.settled) {
      this.opts.logger.debug({ err: (err as Error)?.message }, "task threw after it was already reported: ignored");
      return;
    }
    this.finish(mapError(err, this.base, (line) => this.addLog(line)));
  }

  private finish(r: TaskResult): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.droppedLogs) this.logs?.push({ log: `(${this.droppedLogs} more log lines not kept)`, taskId: this.task.taskId, createdTime: Date.now() });
    const cp = this.cp;
    const out = cp ? withCheckpoint(r, cp) : r;
    const done = this.logs?.length ? sameOutput(out, { ...out, logs: this.logs }) : out;
    // A checkpoint update under way must land before the result, never after it.
    if (cp) void cp.close().then(() => this.settle(done));
    else this.settle(done);
  }

  private cancel(reason: string): void {
    if (this.settled) return;
    this.cancelled = true;
    this.opts.logger.info({ reason }, reason);
    this.addLog(reason);
    this.abortController().abort(new TaskCancelledError(reason));
    this.finish(failedResult(this.base, "FAILED", reason));
  }

  private fail(reason: string): void {
    const c = this.abortController();
    if (!c.signal.aborted) c.abort(new Error(reason));
    this.finish(failedResult(this.base, "FAILED", reason));
  }
}

/**
 * What a task function gets (TaskContext). `signal`, `log`, `heartbeat`, `checkpoint` and
 * `batches` are getters on the prototype, shared by every context. The four methods come bound to
 * their context, made on first use and kept, so `const { log } = ctx` works. Made in the
 * constructor, four closures per task kept each task's objects alive through two minor GCs on
 * Node 24 (1.6-1.8 KB promoted per task, test/unit/runtime-gc.test.ts), and most tasks never use
 * them.
 */
class RunContext implements TaskContext {
  readonly taskId: string;
  readonly workflowInstanceId: string;
  readonly taskType: string;
  readonly referenceTaskName: string;
  readonly retryCount: number;
  readonly pollCount: number;
  readonly workerId: string;
  readonly task: Task;
  resumeFrom?: unknown = undefined;
  readonly #ex: TaskExecution;
  #log?: (message: string) => void;
  #heartbeat?: () => Promise<void>;
  #checkpoint?: TaskContext["checkpoint"];
  #batches?: TaskContext["batches"];

  constructor(ex: TaskExecution, task: Task, reg: Registration, workerId: string) {
    this.#ex = ex;
    this.taskId = task.taskId;
    this.workflowInstanceId = task.workflowInstanceId;
    this.taskType = task.taskType ?? reg.name;
    this.referenceTaskName = task.referenceTaskName ?? "";
    this.retryCount = task.retryCount ?? 0;
    this.pollCount = task.pollCount ?? 0;
    this.workerId = workerId;
    this.task = task;
  }

  get signal(): AbortSignal {
    return this.#ex.signal;
  }

  get log(): (message: string) => void {
    return (this.#log ??= (message) => this.#ex.addLog(String(message)));
  }

  get heartbeat(): () => Promise<void> {
    return (this.#heartbeat ??= () => this.#ex.heartbeat());
  }

  get checkpoint(): TaskContext["checkpoint"] {
    return (this.#checkpoint ??= (state, o) => this.#ex.checkpoint(state, o));
  }

  get batches(): TaskContext["batches"] {
    return (this.#batches ??= (items, size, o) => batches(this, items, size, o));
  }
}

type Base = { taskId: string; workflowInstanceId: string; workerId: string };

/**
 * The checkpoint's part of a result: FAILED and IN_PROGRESS carry the latest checkpoint (their
 * output replaces the task's, and the next attempt resumes from it); COMPLETED gets the progress
 * of ctx.batches() as `batches`, unless the output has its own.
 */
function withCheckpoint(r: TaskResult, checkpoints: Checkpointer): TaskResult {
  if (r.status === "COMPLETED") {
    const state = checkpoints.lastState();
    if (isBatchProgress(state) && r.outputData && !("batches" in r.outputData)) return { ...r, outputData: { ...r.outputData, batches: state } };
    return r;
  }
  const carry = checkpoints.carryOver();
  return carry ? { ...r, outputData: { ...r.outputData, ...carry } } : r;
}

/**
 * A result of `status` for the task in `base`, as an object literal. Not `{ ...base, status }`:
 * on Node 20 (V8 11.3) a spread followed by more properties takes V8's slow path, about 0.8 µs
 * per result, and the object it makes is slower to serialise too (docs/performance.md,
 * "The runtime's own JavaScript, measured to 2%").
 */
function resultFor(base: Base, status: TaskResult["status"]): TaskResult {
  return { taskId: base.taskId, workflowInstanceId: base.workflowInstanceId, workerId: base.workerId, status };
}

/** A task's return value → TaskResult (with its output's JSON attached: result-json.ts). */
export function mapValue(value: unknown, base: Base): TaskResult {
  const inProgress = isInProgress(value);
  const out = serialise(inProgress ? (value.output ?? {}) : value);
  if (!out.ok) return failedResult(base, "FAILED", out.reason);
  const r = resultFor(base, inProgress ? "IN_PROGRESS" : "COMPLETED");
  if (inProgress) r.callbackAfterSeconds = value.callbackAfterSeconds;
  r.outputData = out.value;
  return withOutputJson(r, out.json);
}

/** A FAILED (or FAILED_WITH_TERMINAL_ERROR) result saying why. */
function failedResult(base: Base, status: "FAILED" | "FAILED_WITH_TERMINAL_ERROR", reason: string): TaskResult {
  const r = resultFor(base, status);
  r.reasonForIncompletion = reason;
  return r;
}

/** A thrown error → TaskResult (FAILED, or FAILED_WITH_TERMINAL_ERROR for TerminalError). */
export function mapError(err: unknown, base: Base, addLog: (line: string) => void): TaskResult {
  const e = err as { name?: string; message?: string; stack?: string; output?: Record<string, unknown> };
  const message = (e && typeof e === "object" ? e.message : String(err)) || String(e?.name ?? "error");
  if (e?.stack) addLog(e.stack);
  const terminal = err instanceof TerminalError || e?.name === "TerminalError";
  const withOutput = terminal || err instanceof RetryableError || e?.name === "RetryableError";
  const r = failedResult(base, terminal ? "FAILED_WITH_TERMINAL_ERROR" : "FAILED", message.slice(0, 2000));
  if (withOutput && e.output) {
    const out = serialise(e.output);
    if (out.ok) {
      r.outputData = out.value;
      withOutputJson(r, out.json);
    }
  }
  return r;
}

/**
 * Outputs whose JSON is at least this long keep that JSON (result-json.ts) instead of being
 * parsed back into a copy. Below it the copy costs less than carrying the text (measured: a no-op
 * task's `{}` was no cheaper with the text attached; docs/performance.md).
 */
export const OUTPUT_JSON_KEPT_FROM = 1024;

/**
 * The output as Conductor will store it (Dates become strings, undefined fields vanish).
 * undefined/null → {}; a value that is not an object is wrapped as { result }. A plain object
 * whose JSON is OUTPUT_JSON_KEPT_FROM characters or more is kept as the task returned it, with
 * that JSON in `json` (what gets sent: result-json.ts); anything else is JSON round-tripped.
 */
export function serialise(value: unknown): { ok: true; value: Record<string, unknown>; json?: string } | { ok: false; reason: string } {
  if (value === undefined || value === null) return { ok: true, value: {} };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return { ok: false, reason: `task output cannot be serialised to JSON: ${(err as Error).message}` };
  }
  if (text === undefined) return { ok: false, reason: `task output cannot be serialised to JSON: a ${typeof value} is not JSON` };
  const keep = text.length >= OUTPUT_JSON_KEPT_FROM;
  if (keep && isPlainObject(value)) return { ok: true, value, json: text };
  const parsed = JSON.parse(text) as unknown;
  const isObject = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  const obj = isObject ? (parsed as Record<string, unknown>) : { result: parsed };
  if (!keep) return { ok: true, value: obj };
  return { ok: true, value: obj, json: isObject ? text : `{"result":${text}}` };
}

/** An object literal's kind of object, without a toJSON of its own: its JSON is its own fields. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== "function";
}
