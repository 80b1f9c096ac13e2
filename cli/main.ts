/** The yargs front door: global flags, one module per command group, errors to exit codes. */
import { createRequire } from "node:module";
import type { Argv } from "yargs";
import { reportError, say, UserError } from "./output.ts";
import { configFlags } from "./config-flags.ts";
import { configCommand } from "./commands/config.ts";
import { devCommand } from "./commands/dev.ts";
import { initCommand } from "./commands/init.ts";
import { taskCommand } from "./commands/task/index.ts";
import { serverCommand } from "./commands/server/index.ts";
import { workerCommand } from "./commands/worker/index.ts";
import { workflowCommand } from "./commands/workflow/index.ts";

// yargs' CommonJS build: its ES module build wraps help text with a naive splitter that cuts
// words in half at the column edge ("p" / "roject"); the CommonJS one wraps at word boundaries.
const yargs = createRequire(import.meta.url)("yargs") as typeof import("yargs").default;

/** Help width: the terminal's (at most 110), else COLUMNS, else 100. */
export function helpWidth(): number {
  if (process.stdout.columns) return Math.min(110, process.stdout.columns);
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : 100;
}

/** A number flag the user mistyped: yargs turns "abc" into NaN; say what was typed instead. */
export function rejectNaN(parsed: Record<string, unknown>, argv: string[]): void {
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== "number" || !Number.isNaN(value) || /[A-Z]/.test(key)) continue;
    const flag = key.length === 1 ? `-${key}` : `--${key}`;
    const i = argv.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
    if (i < 0) continue; // an alias: reported under the name the user typed
    const typed = argv[i]!.includes("=") ? argv[i]!.slice(flag.length + 1) : (argv[i + 1] ?? "");
    throw new UserError(`${flag} expects a number, got ${JSON.stringify(typed)}`, 2);
  }
}

export interface GlobalFlags {
  root?: string;
  serverUrl?: string;
  authFile?: string;
  verbose?: boolean;
  json?: boolean;
}

export function globalOptions<T>(y: Argv<T>) {
  return configFlags(y, ["root", "serverUrl", "authFile"])
    .option("verbose", { type: "boolean", default: false, describe: "show stack traces and debug output" })
    .option("json", { type: "boolean", default: false, describe: "machine-readable output on stdout" });
}

/** The whole command line, every command registered (`width`: help wrap width; null: no wrapping). */
export function buildCli(argv: string[], width: number | null = helpWidth()) {
  return globalOptions(yargs(argv))
    .scriptName("idflow")
    .usage("$0 <command>\n\nConductor task workers in TypeScript: a task is a function in a folder.")
    .command(initCommand)
    .command(devCommand)
    .command(taskCommand)
    .command(configCommand)
    .command(workerCommand)
    .command(workflowCommand)
    .command(serverCommand)
    .demandCommand(1, "name a command: see idflow --help")
    .strict()
    .recommendCommands()
    .middleware((parsed) => rejectNaN(parsed, argv), true)
    .wrap(width)
    .fail((msg, err, y) => {
      if (err) throw err;
      say(y.help() ? "" : "");
      y.showHelp((s: string) => say(s));
      say(`\nerror: ${msg}`);
      process.exit(2);
    })
    .help()
    .version();
}

export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes("--verbose");
  const cli = buildCli(argv);
  try {
    await cli.parseAsync();
  } catch (err) {
    process.exitCode = reportError(err, verbose);
  }
}
