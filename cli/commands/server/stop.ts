/** `idflow server stop`: stop the local Conductor gracefully (SIGTERM), hard after a timeout. */
import type { CommandModule } from "yargs";
import { colour, printJson, say } from "../../output.ts";
import { DEFAULT_STOP_TIMEOUT_MS, stopLocalServer } from "../../../src/server/index.ts";
import { stateDirOf } from "./options.ts";

interface StopArgs {
  root?: string;
  json?: boolean;
  timeout: number;
}

export const stopServerCommand: CommandModule<object, StopArgs> = {
  command: "stop",
  describe: "stop the local Conductor",
  builder: (y) =>
    y.option("timeout", {
      type: "number",
      default: DEFAULT_STOP_TIMEOUT_MS / 1000,
      describe: "how long to wait for a graceful stop before killing the server, in seconds",
    }) as never,
  handler: async (argv) => {
    const stateDir = stateDirOf(argv);
    const result = await stopLocalServer({ stateDir, timeoutMs: argv.timeout * 1000, onProgress: (l) => say(colour.dim(l)) });
    if (argv.json)
      printJson({ stopped: result.stopped, forced: result.forced ?? false, pid: result.state?.pid, url: result.state?.url, staleCleaned: result.staleCleaned });
    if (result.staleCleaned) say(colour.yellow(result.staleCleaned));
    if (result.stopped) say(`Conductor stopped (pid ${result.state!.pid}${result.forced ? ", killed after the timeout" : ""}); its data stays in ${stateDir}`);
    else if (!result.staleCleaned) say(`no local Conductor is running (nothing in ${stateDir})`);
  },
};
