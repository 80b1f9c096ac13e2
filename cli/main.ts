/** The yargs front door: global flags, one module per command group, errors to exit codes. */
import yargs, { type Argv } from "yargs";
import { reportError, say } from "./output.ts";
import { devCommand } from "./commands/dev.ts";
import { initCommand } from "./commands/init.ts";
import { taskCommand } from "./commands/task/index.ts";
import { serverCommand } from "./commands/server/index.ts";
import { workerCommand } from "./commands/worker/index.ts";
import { workflowCommand } from "./commands/workflow/index.ts";

export interface GlobalFlags {
  root?: string;
  serverUrl?: string;
  verbose?: boolean;
  json?: boolean;
}

export function globalOptions<T>(y: Argv<T>) {
  return y
    .option("root", { type: "string", describe: "project root holding tasks/ and workflows/ (default: current directory)" })
    .option("server-url", { type: "string", describe: "Conductor URL, with or without /api (default: CONDUCTOR_SERVER_URL, then the local server, then http://127.0.0.1:8080)" })
    .option("verbose", { type: "boolean", default: false, describe: "show stack traces and debug output" })
    .option("json", { type: "boolean", default: false, describe: "machine-readable output on stdout" });
}

export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes("--verbose");
  const cli = globalOptions(yargs(argv))
    .scriptName("idflow")
    .usage("$0 <command>\n\nConductor task workers in TypeScript: a task is a function in a folder.")
    .command(initCommand)
    .command(devCommand)
    .command(taskCommand)
    .command(workerCommand)
    .command(workflowCommand)
    .command(serverCommand)
    .demandCommand(1, "name a command: see idflow --help")
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      say(y.help() ? "" : "");
      y.showHelp((s: string) => say(s));
      say(`\nerror: ${msg}`);
      process.exit(2);
    })
    .help()
    .version();
  try {
    await cli.parseAsync();
  } catch (err) {
    process.exitCode = reportError(err, verbose);
  }
}
