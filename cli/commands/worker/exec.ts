/**
 * `idflow worker exec <taskType> <command> [args...]`: a worker in any language. The program
 * gets the task JSON on stdin (or, with --persistent, one JSON line per task) and answers
 * with the result JSON on stdout (src/exec/contract.ts). It runs on the same runtime as
 * TypeScript workers: polling, delivery, spool, shutdown and watchdog (src/runtime/handler.ts).
 */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { resolveConfig } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { applyEnvOverrides } from "../../../src/discovery/env-overrides.ts";
import { applyFileOverrides } from "../../../src/discovery/file-overrides.ts";
import { resolveCommand } from "../../../src/exec/command.ts";
import { execRegistration } from "../../../src/exec/exec-registration.ts";
import { describeCommand, EXEC_DEFAULTS } from "../../../src/exec/spec.ts";
import { createLogger } from "../../../src/log.ts";
import { runWorkers } from "../../../src/runtime/handler.ts";
import type { WorkerOverrides } from "../../../src/runtime/settings.ts";
import { validateOptions } from "../../../src/task/validate-options.ts";
import type { WorkerTaskOptions } from "../../../src/task/options.ts";
import { configFlags, flagValues, workerFlagValues, workerFlags } from "../../config-flags.ts";
import type { GlobalFlags } from "../../main.ts";

import { printJson, say, UserError } from "../../output.ts";

interface ExecFlags extends GlobalFlags {
  taskType: string;
  command?: string[];
  "--"?: string[];
  count?: number;
  concurrency?: number;
  persistent?: boolean;
}

export const execCommand: CommandModule<object, ExecFlags> = {
  command: "exec <taskType> [command..]",
  describe: "run a program in any language as the worker of <taskType>: task JSON on its stdin, result JSON on its stdout",
  builder: (y) =>
    workerFlags(configFlags(y, ["shutdownGraceSeconds", "logLevel", "logFormat"]))
      // Everything after `--` is the program's, verbatim (no number parsing: "007" stays "007").
      .parserConfiguration({ "populate--": true, "parse-positional-numbers": false })
      .positional("taskType", { type: "string", describe: "the Conductor task type to poll for" })
      .positional("command", {
        type: "string",
        array: true,
        describe: "the program and its arguments (run without a shell); put them after -- when they have flags",
      })
      .option("count", { type: "number", describe: "tasks polled per batch; idflow polls for exactly its free slots, so this is the default --concurrency" })
      .option("persistent", {
        type: "boolean",
        default: false,
        describe: "keep one process per slot running: tasks as JSON lines on stdin, results as JSON lines on stdout",
      })
      .example("$0 worker exec greet python3 greet.py", "one Python process per task")
      .example("$0 worker exec greet --concurrency 4 --persistent -- python3 -u greet_lines.py", "four long-lived processes, JSON lines") as never,
  handler: (argv: ArgumentsCamelCase<ExecFlags>) => execWorker(argv),
};

async function execWorker(argv: ExecFlags): Promise<void> {
  const program = [...(argv.command ?? []), ...(argv["--"] ?? []).map(String)];
  if (program.length === 0)
    throw new UserError("name the program to run: idflow worker exec <taskType> <command> [args...] (put its arguments after -- when they start with -)", 2);
  if (argv.count !== undefined && !(Number.isInteger(argv.count) && argv.count >= 1))
    throw new UserError(`--count must be a whole number >= 1, got ${String(argv.count)}`, 2);
  // --count: the Orkes CLI's batch size. idflow polls for exactly its free slots, so it is the default concurrency.
  const overrides: WorkerOverrides = workerFlagValues({ ...(argv as unknown as Record<string, unknown>), concurrency: argv.concurrency ?? argv.count });
  const config = resolveConfig(flagValues(argv as unknown as Record<string, unknown>));
  const paths = { root: config.root, stateDir: config.stateDir };
  const cwd = process.cwd();
  const [command, ...args] = program;
  const resolved = resolveCommand(command, cwd);
  if (!resolved.ok) throw new UserError(`cannot run ${describeCommand({ command, args })}: ${resolved.problem}; ${resolved.fix}`, 2);

  const base: WorkerTaskOptions = { name: argv.taskType };
  const problems = validateOptions(base);
  if (problems.length) throw new UserError(`task type ${JSON.stringify(argv.taskType)}: ${problems.join("; ")}`, 2);
  // The project file's "workers" (by task name or "*"), then CONDUCTOR_WORKER_*, then the flags: as for any worker.
  const fromFile = applyFileOverrides(base, config.workers);
  const env = applyEnvOverrides(fromFile.options, process.env);
  env.applied = { ...fromFile.applied, ...env.applied };
  if (env.errors.length) throw new UserError(env.errors.join("\n"), 2);
  const merged = validateOptions(env.options);
  if (merged.length)
    throw new UserError(
      `task type ${JSON.stringify(argv.taskType)} (with idflow.config.json workers and CONDUCTOR_WORKER_* overrides): ${merged.join("; ")}`,
      2,
    );

  const logLevel = config.entries.logLevel.source === "default" && argv.verbose ? "debug" : config.logLevel;
  const logger = createLogger({ level: logLevel, format: config.logFormat });
  const reg = execRegistration({
    options: env.options,
    envOverrides: env.applied,
    spec: {
      command: command.includes("/") ? resolved.path : command,
      args,
      cwd,
      mode: argv.persistent ? "lines" : "process",
      killGraceMs: EXEC_DEFAULTS.killGraceMs,
      maxOutputBytes: EXEC_DEFAULTS.maxOutputBytes,
    },
    sourceFile: resolved.path,
    logger,
  });

  const client = connect({ serverUrl: argv.serverUrl, root: argv.root, authFile: argv.authFile }, paths);
  const run = await runWorkers({
    client,
    registrations: [reg],
    overrides,
    stateDir: paths.stateDir,
    logger,
    shutdownGraceMs: config.shutdownGraceSeconds * 1000,
    exit: (code) => {
      client.close();
      process.exit(code);
    },
  });
  const w = run.workers[0];
  if (argv.json)
    printJson({
      server: client.baseUrl,
      worker: { name: w.name, domain: w.domain ?? null, concurrency: w.concurrency, workerId: w.workerId, command: program, persistent: !!argv.persistent },
    });
  else
    say(
      `polling ${client.baseUrl} for ${w.name}${w.domain ? ` (domain ${w.domain})` : ""}: ${describeCommand({ command, args })}, ${w.concurrency} at once${argv.persistent ? ", persistent" : ""} (Ctrl-C stops cleanly)`,
    );
  const summary = await run.finished;
  client.close();
  logger.flush?.();
  process.exit(summary.exitCode);
}
