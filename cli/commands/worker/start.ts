/**
 * `idflow worker start --all | --worker <name>...`: discover, optionally upload the task
 * definitions, then run the selected workers until SIGINT/SIGTERM (see src/runtime/handler.ts).
 * Exit 0 after a clean stop, 130 after a second signal, 2 for a usage mistake.
 */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { resolveConfig } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { discover } from "../../../src/discovery/discover.ts";
import { createLogger, type LogFormat, type LogLevel } from "../../../src/log.ts";
import { RuntimeEvents } from "../../../src/runtime/events.ts";
import { runWorkers } from "../../../src/runtime/handler.ts";
import type { WorkerOverrides } from "../../../src/runtime/settings.ts";
import type { DiscoveryResult, Registration } from "../../../src/task/registration.ts";
import { upload } from "../../../src/upload/upload.ts";
import { configFlags, flagValues, workerFlags, workerFlagValues } from "../../config-flags.ts";
import type { GlobalFlags } from "../../main.ts";
import { colour, printJson, say, table, UserError } from "../../output.ts";

interface StartFlags extends GlobalFlags {
  all?: boolean;
  worker?: string[];
  concurrency?: number;
  pollInterval?: number;
  pollTimeout?: number;
  domain?: string;
  workerId?: string;
  execTimeout?: number;
  shutdownGrace?: number;
  upload?: boolean;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
}

/** Pick registrations by task name; an unknown name is a usage error listing the known ones. */
export function selectWorkers(regs: Registration[], flags: { all?: boolean; worker?: string[] }, loadErrors: string[] = []): Registration[] {
  const names = [...new Set(flags.worker ?? [])];
  if (!flags.all && names.length === 0)
    throw new UserError("say which workers to start: --all, or --worker <name> (repeatable); `idflow worker list` shows them", 2);
  if (flags.all && names.length > 0) throw new UserError("--all and --worker exclude each other: give one of them", 2);
  if (flags.all) return regs.filter((r) => !r.options.paused);
  const known = [...new Set(regs.map((r) => r.name))].sort();
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    const list = known.length ? `known workers: ${known.join(", ")}` : "no worker was discovered under tasks/";
    const errs = loadErrors.length ? `\nsome task folders failed to load (maybe the one you want):\n${loadErrors.map((e) => `  - ${e}`).join("\n")}` : "";
    throw new UserError(`no worker named ${unknown.map((n) => JSON.stringify(n)).join(", ")}; ${list}${errs}`, 2);
  }
  return regs.filter((r) => names.includes(r.name));
}

export const startCommand: CommandModule<object, StartFlags> = {
  command: "start",
  describe: "run workers: poll Conductor, execute, report results; Ctrl-C stops cleanly (twice: at once)",
  builder: (y) =>
    workerFlags(configFlags(y, ["shutdownGraceSeconds", "spoolSync", "logLevel", "logFormat", "metricsPort", "metricsHost"]))
      .option("all", { type: "boolean", describe: "start every discovered worker (except paused ones)" })
      .option("worker", { type: "string", array: true, describe: "start this worker (by task name); repeatable" })
      .option("upload", { type: "boolean", default: false, describe: "upload the selected workers' task definitions first" })
      .example("$0 worker start --all", "run every worker in tasks/")
      .example("$0 worker start --worker text_stats --concurrency 10", "one worker, 10 at once")
      .example("$0 worker start --all --upload --log-format json", "upload task definitions, then run; JSON logs")
      .example("$0 worker start --all --metrics-port 9464", "with Prometheus /metrics and /health/live, /health/ready on 127.0.0.1:9464") as never,
  handler: (argv: ArgumentsCamelCase<StartFlags>) => startWorkers(argv),
};

/** The body of `worker start`; `idflow dev` calls it with what it already discovered. */
export async function startWorkers(argv: StartFlags, discovered?: DiscoveryResult): Promise<void> {
  const config = resolveConfig(flagValues(argv as unknown as Record<string, unknown>));
  const paths = { root: config.root, stateDir: config.stateDir };
  const overrides: WorkerOverrides = workerFlagValues(argv as unknown as Record<string, unknown>);
  const logLevel = config.entries.logLevel.source === "default" && argv.verbose ? "debug" : config.logLevel;
  const logger = createLogger({ level: logLevel, format: config.logFormat });
  const found = discovered ?? (await discover({ root: paths.root, workers: config.workers, logger }));
  const loadErrors = found.errors.map((e) => e.message);
  const selected = selectWorkers(found.registrations, { all: argv.all, worker: argv.worker }, loadErrors);
  for (const e of loadErrors) say(`${colour.yellow("warning:")} ${e}`);
  if (selected.length === 0) throw new UserError(`no worker to start under ${paths.root}/tasks (\`idflow worker list\` shows what was found)`, 1);

  const client = connect({ serverUrl: argv.serverUrl, root: argv.root, authFile: argv.authFile }, paths);
  if (argv.upload) {
    const report = await upload(client, { registrations: selected, tasksOnly: true, root: paths.root });
    const changed = report.entries.filter((e) => e.action !== "unchanged").length;
    say(`uploaded task definitions: ${changed} created or updated, ${report.entries.length - changed} unchanged`);
  }

  // The metrics and health endpoint comes up before the workers (a taken port fails before any
  // task is taken) and stays up through the drain: probes see 503 until the process exits.
  const events = new RuntimeEvents();
  // Loaded only when asked for: prom-client alone is about 12 MB of resident memory.
  const observer =
    config.metricsPort === undefined
      ? undefined
      : await (await import("../../../src/observe/server.ts")).ObserveServer.start({ events, port: config.metricsPort, host: config.metricsHost });
  const run = await runWorkers({
    client,
    events,
    registrations: selected,
    overrides,
    stateDir: paths.stateDir,
    logger,
    shutdownGraceMs: config.shutdownGraceSeconds * 1000,
    spoolSync: config.spoolSync,
    exit: (code) => {
      client.close();
      process.exit(code);
    },
  });
  observer?.attach(run);
  // Every task module is loaded: let go of the TypeScript transpiler's service process (cli/bin.js).
  (globalThis as Record<symbol, (() => void) | undefined>)[Symbol.for("idflow.stopTranspiler")]?.();
  const rows = run.workers.map((w) => ({ name: w.name, domain: w.domain ?? null, concurrency: w.concurrency, workerId: w.workerId, isolation: w.isolation }));
  if (argv.json) printJson({ server: client.baseUrl, workers: rows, ...(observer ? { metrics: `${observer.url}/metrics` } : {}) });
  else {
    say(`started ${rows.length} worker${rows.length === 1 ? "" : "s"} against ${client.baseUrl} (Ctrl-C stops cleanly):`);
    if (observer) say(`metrics: ${observer.url}/metrics   health: ${observer.url}/health/live, ${observer.url}/health/ready`);
    say(
      table(
        ["NAME", "DOMAIN", "CONCURRENCY", "ISOLATION"],
        rows.map((r) => [r.name, r.domain ?? "-", String(r.concurrency), r.isolation]),
      ),
    );
  }
  const summary = await run.finished;
  client.close();
  logger.flush?.();
  process.exit(summary.exitCode);
}
