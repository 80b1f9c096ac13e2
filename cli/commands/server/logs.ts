/** `idflow server logs [-n N] [--follow]`: the local Conductor's output. */
import { existsSync } from "node:fs";
import type { CommandModule } from "yargs";
import { UserError } from "../../output.ts";
import { followFile, readState, serverFiles, tailLines } from "../../../src/server/index.ts";
import { stateDirOf } from "./options.ts";

interface LogsArgs {
  root?: string;
  lines: number;
  follow: boolean;
}

export const logsServerCommand: CommandModule<object, LogsArgs> = {
  command: "logs",
  describe: "print the local Conductor's log",
  builder: (y) =>
    y
      .option("lines", { alias: "n", type: "number", default: 50, describe: "how many of the last lines to print" })
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "keep printing as the log grows (Ctrl-C ends)" }) as never,
  handler: async (argv) => {
    const stateDir = stateDirOf(argv);
    const read = readState(stateDir);
    const file = read.kind === "ok" ? read.state.logFile : serverFiles(stateDir).logFile;
    if (!existsSync(file)) throw new UserError(`no server log at ${file} yet: start the server with idflow server start`);
    if (!(argv.lines >= 0)) throw new UserError(`-n ${argv.lines} must be a number of lines (0 or more)`, 2);
    if (argv.lines > 0) process.stdout.write(`${tailLines(file, argv.lines)}\n`);
    if (!argv.follow) return;
    await new Promise<void>((resolve) => {
      const stop = followFile(file, (text) => process.stdout.write(text));
      const end = () => {
        stop();
        resolve();
      };
      process.once("SIGINT", end);
      process.once("SIGTERM", end);
    });
  },
};
