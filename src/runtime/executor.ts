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
import type { Logger } from "pino";
import type { ConductorClient } from "../conductor/client.ts";
import type { Task, TaskExecLog, TaskResult } from "../conductor/types.ts";
import type { TaskContext } from "../task/context.ts";
import { TerminalError, RetryableError, TaskCancelledError } from "../task/errors.ts";
import { isInProgress } from "../task/results.ts";
import type { Registration } from "../task/registration.ts";
import { batches, isBatchProgress } from "../task/batches.ts";
import { WORKER_DEFAULTS } from "../task/options.ts";
import { Checkpointer, readCheckpoint } from "./checkpoint.ts";
import { contextStorage } from "./context.ts";
import { findCheckpoint, resumeIsLocal } from "./resume.ts";

/** Why an execution was stopped from outside. */
export const SHUTDOWN_REASON = "worker shutting down";
/** Most log lines kept per execution (the rest are counted). */
export const MAX_LOG_LINES = 500;
/** Longest log line kept, in characters. */
export const MAX_LOG_LINE = 8192;

/** How the function is called: in-process by default, or in a worker thread (thread-runner.ts). */
export type Invoker = (reg: Registration, input: Record<string, unknown>, ctx: TaskContext) => Promise<unknown>;

export const invokeInProcess: Invoker = (reg, input, ctx) => contextStorage.run(ctx, () => Promise.resolve().then(() => reg.fn(input, ctx)));

export interface ExecuteOptions {
  client: ConductorClient;
  workerId: string;
  logger: Logger;
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
  // ctx.signal's controller is made when something asks for the signal or aborts it (most tasks do neither).
  let controller: AbortController | undefined;
  const signal = () => (controller ??= new AbortController()).signal;
  const logs: TaskExecLog[] = [];
  let droppedLogs = 0;
  const started = Date.now();
  const log = opts.logger;
  let settled = false;
  let timedOut = false;
  let cancelled = false;
  let settle!: (r: TaskResult) => void;
  const result = new Promise<TaskResult>((resolve) => (settle = resolve));
  const base = { taskId: task.taskId, workflowInstanceId: task.workflowInstanceId, workerId: opts.workerId };

  const addLog = (line: string) => {
    if (logs.length >= MAX_LOG_LINES) {
      droppedLogs++;
      return;
    }
    logs.push({ log: line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)}…` : line, taskId: task.taskId, createdTime: Date.now() });
  };
  const takeLogs = (): TaskExecLog[] | undefined => {
    if (droppedLogs) logs.push({ log: `(${droppedLogs} more log lines not kept)`, taskId: task.taskId, createdTime: Date.now() });
    return logs.length ? logs : undefined;
  };

  const checkpoints = new Checkpointer({
    client: opts.client,
    task,
    workerId: opts.workerId,
    intervalMs: opts.checkpointIntervalMs ?? reg.options.checkpointIntervalMs ?? WORKER_DEFAULTS.checkpointIntervalMs,
    logger: log,
    onLost: (reason) => cancel(reason),
  });
  const heartbeat = async () => {
    if (settled) return;
    await checkpoints.heartbeat();
  };

  const ctx: TaskContext = {
    taskId: task.taskId,
    workflowInstanceId: task.workflowInstanceId,
    taskType: task.taskType ?? reg.name,
    referenceTaskName: task.referenceTaskName ?? "",
    retryCount: task.retryCount ?? 0,
    pollCount: task.pollCount ?? 0,
    workerId: opts.workerId,
    get signal() {
      return signal();
    },
    task,
    log: (message: string) => addLog(String(message)),
    heartbeat,
    checkpoint: (state, o) => (settled ? Promise.resolve() : checkpoints.checkpoint(state, o)),
    resumeFrom: undefined,
    batches: (items, size, o) => batches(ctx, items, size, o),
  };

  const timers: NodeJS.Timeout[] = [];
  const finish = (r: TaskResult) => {
    if (settled) return;
    settled = true;
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    const l = takeLogs();
    const out = withCheckpoint(r, checkpoints);
    // A checkpoint update under way must land before the result, never after it.
    void checkpoints.close().then(() => settle(l ? { ...out, logs: l } : out));
  };
  const cancel = (reason: string) => {
    if (settled) return;
    cancelled = true;
    log.info({ reason }, reason);
    addLog(reason);
    signal();
    controller!.abort(new TaskCancelledError(reason));
    finish({ ...base, status: "FAILED", reasonForIncompletion: reason });
  };
  const fail = (reason: string) => {
    if (!signal().aborted) controller!.abort(new Error(reason));
    finish({ ...base, status: "FAILED", reasonForIncompletion: reason });
  };

  if (opts.execTimeoutSeconds > 0) {
    const t = setTimeout(() => {
      const reason = `execution timed out after ${opts.execTimeoutSeconds}s`;
      addLog(reason);
      log.warn(reason);
      timedOut = true;
      fail(reason);
    }, opts.execTimeoutSeconds * 1000);
    timers.push(t);
  }
  const rts = Number(task.responseTimeoutSeconds ?? 0);
  if (opts.leaseExtend && rts > 0) {
    const every = Math.max(250, Math.floor(rts * 1000 * 0.5));
    const t = setInterval(() => {
      if (checkpoints.active) return; // checkpoints renew the lease themselves
      heartbeat().then(
        () => settled || log.debug("lease extended"),
        (err) => log.warn({ err: (err as Error).message }, "could not extend the lease"),
      );
    }, every);
    t.unref?.();
    timers.push(t);
  }

  const invoke = opts.invoke ?? invokeInProcess;
  const resume = resumeIsLocal(task) ? Promise.resolve(readCheckpoint(task.outputData)) : findCheckpoint(opts.client, task, signal());
  const running: Promise<unknown> = resume.then((found) => {
    if (found) {
      checkpoints.inherit(found);
      (ctx as { resumeFrom?: unknown }).resumeFrom = found.state;
      addLog(`resuming from checkpoint ${found.seq} saved by ${found.taskId} at ${new Date(found.savedAt).toISOString()}`);
      log.info({ seq: found.seq, from: found.taskId }, "resuming from a checkpoint");
    }
    if (settled) return undefined;
    return invoke(reg, task.inputData ?? {}, ctx);
  });
  running.then(
    (value) => {
      if (settled) {
        log.warn({ lateByMs: Date.now() - started }, "task returned after it was already reported (timed out or aborted): result ignored");
        return;
      }
      finish(mapValue(value, base));
    },
    (err) => {
      if (settled) {
        log.debug({ err: (err as Error)?.message }, "task threw after it was already reported: ignored");
        return;
      }
      finish(mapError(err, base, addLog));
    },
  );

  return {
    task,
    result,
    abort(reason: string) {
      if (settled) return;
      addLog(reason);
      fail(reason);
    },
    get timedOut() {
      return timedOut;
    },
    get cancelled() {
      return cancelled;
    },
  };
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

/** A task's return value → TaskResult. */
export function mapValue(value: unknown, base: Base): TaskResult {
  if (isInProgress(value)) {
    const out = serialise(value.output ?? {});
    if (!out.ok) return { ...base, status: "FAILED", reasonForIncompletion: out.reason };
    return { ...base, status: "IN_PROGRESS", callbackAfterSeconds: value.callbackAfterSeconds, outputData: out.value };
  }
  const out = serialise(value);
  if (!out.ok) return { ...base, status: "FAILED", reasonForIncompletion: out.reason };
  return { ...base, status: "COMPLETED", outputData: out.value };
}

/** A thrown error → TaskResult (FAILED, or FAILED_WITH_TERMINAL_ERROR for TerminalError). */
export function mapError(err: unknown, base: Base, addLog: (line: string) => void): TaskResult {
  const e = err as { name?: string; message?: string; stack?: string; output?: Record<string, unknown> };
  const message = (e && typeof e === "object" ? e.message : String(err)) || String(e?.name ?? "error");
  if (e?.stack) addLog(e.stack);
  const terminal = err instanceof TerminalError || e?.name === "TerminalError";
  const withOutput = terminal || err instanceof RetryableError || e?.name === "RetryableError";
  const r: TaskResult = { ...base, status: terminal ? "FAILED_WITH_TERMINAL_ERROR" : "FAILED", reasonForIncompletion: message.slice(0, 2000) };
  if (withOutput && e.output) {
    const out = serialise(e.output);
    if (out.ok) r.outputData = out.value;
  }
  return r;
}

/**
 * The output as Conductor will store it: JSON round-tripped (Dates become strings, undefined
 * fields vanish). undefined/null → {}; a value that is not an object is wrapped as { result }.
 */
export function serialise(value: unknown): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  if (value === undefined || value === null) return { ok: true, value: {} };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return { ok: false, reason: `task output cannot be serialised to JSON: ${(err as Error).message}` };
  }
  if (text === undefined) return { ok: false, reason: `task output cannot be serialised to JSON: a ${typeof value} is not JSON` };
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return { ok: true, value: parsed as Record<string, unknown> };
  return { ok: true, value: { result: parsed } };
}
