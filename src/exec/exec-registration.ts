/**
 * An exec worker is an ordinary Registration: its function runs the program for the task and
 * maps the program's answer onto the result vocabulary (contract.ts). The poller, the executor
 * (context, execution timeout, lease extension), result delivery, the spool, shutdown and the
 * watchdog are the same as for TypeScript workers. The executor aborts `ctx.signal` on the
 * execution timeout and on shutdown past the grace period; the program's process group then
 * gets SIGTERM, then SIGKILL. `dispose` (called by the runtime when it stops) waits for every
 * program to be gone and stops the persistent processes.
 */
import type { Logger } from "pino";
import type { TaskContext, TaskFunction } from "../task/context.ts";
import type { WorkerTaskOptions } from "../task/options.ts";
import type { Registration } from "../task/registration.ts";
import { createLogger } from "../log.ts";
import { settleAnswer, settleProcess } from "./contract.ts";
import { LinePool } from "./line-pool.ts";
import { runProcess } from "./run-process.ts";
import { describeCommand, type ExecSpec } from "./spec.ts";

export interface ExecRegistrationInput {
  options: WorkerTaskOptions;
  spec: ExecSpec;
  /** The task.json, or for `worker exec` the command itself (absolute path if known). */
  sourceFile: string;
  /** For what belongs to no task (a persistent process writing between tasks); default: idflow's logger, made on first use. */
  logger?: Logger;
  envOverrides?: Record<string, string>;
}

/** The exec worker as a Registration (with `exec` describing the program, and `dispose`). */
export function execRegistration(input: ExecRegistrationInput): Registration {
  const { spec } = input;
  // A program is its own process already: a thread (say, from idflow.config.json's "*" workers) would only re-import task.json.
  const options: WorkerTaskOptions = input.options.isolation && input.options.isolation !== "none" ? { ...input.options, isolation: "none" } : input.options;
  let logger: Logger | undefined;
  const log = () => (logger ??= (input.logger ?? createLogger()).child({ worker: options.name, command: describeCommand(spec) }));
  const running = new Set<Promise<void>>();
  let pool: LinePool | undefined;

  const fn: TaskFunction = async (_input: unknown, ctx: TaskContext) => {
    if (spec.mode === "lines") {
      pool ??= new LinePool(spec, log());
      const answer = await pool.run(ctx.task, ctx);
      return settleAnswer(answer, ctx.log);
    }
    const outcome = await runProcess({
      spec,
      task: ctx.task,
      log: ctx.log,
      signal: ctx.signal,
      onSpawn: (done) => {
        running.add(done);
        void done.then(() => running.delete(done));
      },
    });
    return settleProcess(outcome, ctx.log);
  };

  return {
    name: options.name,
    ...(options.domain ? { domain: options.domain } : {}),
    options,
    fn,
    sourceFile: input.sourceFile,
    symbol: describeCommand(spec) + (spec.mode === "lines" ? " (persistent)" : ""),
    ...(input.envOverrides && Object.keys(input.envOverrides).length > 0 ? { envOverrides: input.envOverrides } : {}),
    exec: { command: spec.command, args: [...spec.args], cwd: spec.cwd, mode: spec.mode },
    dispose: async () => {
      await Promise.all([...running, pool?.dispose()]);
    },
  };
}
