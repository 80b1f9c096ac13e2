/**
 * The executor: runs one task function with its context and turns what happens into a
 * TaskResult. Plain object → COMPLETED; inProgress() → IN_PROGRESS; TerminalError →
 * FAILED_WITH_TERMINAL_ERROR; any other throw → FAILED (reason = message, stack in the logs);
 * an output JSON cannot carry, or no answer within execTimeoutSeconds → FAILED saying so.
 * `ctx.signal` aborts on timeout and on shutdown; a result that arrives after that is ignored
 * (and logged). With leaseExtend the executor heartbeats before responseTimeoutSeconds runs out.
 */
import type { Logger } from "pino";
import type { ConductorClient } from "../conductor/client.ts";
import type { Task, TaskExecLog, TaskResult } from "../conductor/types.ts";
import type { TaskContext } from "../task/context.ts";
import { TerminalError, RetryableError } from "../task/errors.ts";
import { isInProgress } from "../task/results.ts";
import type { Registration } from "../task/registration.ts";
import { contextStorage } from "./context.ts";

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
}

export interface Execution {
  readonly task: Task;
  /** Settles with the result to report (never rejects). */
  readonly result: Promise<TaskResult>;
  /** Stop now and report FAILED with this reason. */
  abort(reason: string): void;
  /** True when the execution timeout ended it. */
  readonly timedOut: boolean;
}

export function execute(reg: Registration, task: Task, opts: ExecuteOptions): Execution {
  const controller = new AbortController();
  const logs: TaskExecLog[] = [];
  let droppedLogs = 0;
  const started = Date.now();
  const log = opts.logger;
  let settled = false;
  let timedOut = false;
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

  const heartbeat = async () => {
    if (settled) return;
    await opts.client.updateTask({ ...base, status: "IN_PROGRESS", extendLease: true });
  };

  const ctx: TaskContext = {
    taskId: task.taskId,
    workflowInstanceId: task.workflowInstanceId,
    taskType: task.taskType ?? reg.name,
    referenceTaskName: task.referenceTaskName ?? "",
    retryCount: task.retryCount ?? 0,
    pollCount: task.pollCount ?? 0,
    workerId: opts.workerId,
    signal: controller.signal,
    task,
    log: (message: string) => addLog(String(message)),
    heartbeat,
  };

  const timers: NodeJS.Timeout[] = [];
  const finish = (r: TaskResult) => {
    if (settled) return;
    settled = true;
    for (const t of timers) clearTimeout(t), clearInterval(t);
    const l = takeLogs();
    settle(l ? { ...r, logs: l } : r);
  };
  const fail = (reason: string) => {
    if (!controller.signal.aborted) controller.abort(new Error(reason));
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
      heartbeat().then(
        () => log.debug("lease extended"),
        (err) => log.warn({ err: (err as Error).message }, "could not extend the lease"),
      );
    }, every);
    t.unref?.();
    timers.push(t);
  }

  const invoke = opts.invoke ?? invokeInProcess;
  let running: Promise<unknown>;
  try {
    running = invoke(reg, task.inputData ?? {}, ctx);
  } catch (err) {
    running = Promise.reject(err);
  }
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
  };
}

type Base = { taskId: string; workflowInstanceId: string; workerId: string };

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
