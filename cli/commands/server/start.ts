/** `idflow server start`: start the local Conductor and return once /health answers (or stay attached). */
import type { CommandModule } from "yargs";
import { colour, printJson, say, UserError } from "../../output.ts";
import { DEFAULT_HEALTH_TIMEOUT_MS, DEFAULT_HEAP, DEFAULT_PORT, startLocalServer, stopLocalServer } from "../../../src/server/index.ts";
import { isAlive } from "../../../src/server/state.ts";
import { javaAndJarOptions, stateDirOf } from "./options.ts";

interface StartArgs {
  root?: string;
  json?: boolean;
  port: number;
  memory: boolean;
  foreground: boolean;
  java?: string;
  jar?: string;
  conductorVersion?: string;
  heap?: string;
  healthTimeout: number;
}

export const startServerCommand: CommandModule<object, StartArgs> = {
  command: "start",
  describe: "start the local Conductor (SQLite in .idflow/, on 127.0.0.1)",
  builder: (y) =>
    javaAndJarOptions(y)
      .option("port", { type: "number", default: DEFAULT_PORT, describe: "port on 127.0.0.1; 0 picks a free one" })
      .option("memory", { type: "boolean", default: false, describe: "keep nothing: in-memory store, no persistence" })
      .option("foreground", { type: "boolean", default: false, describe: "stay attached and show the server's output; Ctrl-C stops it" })
      .option("heap", { type: "string", describe: `JVM heap limit (default: IDFLOW_SERVER_HEAP, then ${DEFAULT_HEAP})` })
      .option("health-timeout", {
        type: "number",
        default: DEFAULT_HEALTH_TIMEOUT_MS / 1000,
        describe: "how long to wait for /health before giving up, in seconds",
      }) as never,
  handler: async (argv) => {
    const stateDir = stateDirOf(argv);
    if (!(argv.healthTimeout > 0)) throw new UserError(`--health-timeout ${argv.healthTimeout} must be a number of seconds above 0`, 2);
    const result = await startLocalServer({
      stateDir,
      port: argv.port,
      memory: argv.memory,
      foreground: argv.foreground,
      java: argv.java,
      jar: argv.jar,
      conductorVersion: argv.conductorVersion,
      heap: argv.heap,
      healthTimeoutMs: argv.healthTimeout * 1000,
      onProgress: (line) => say(colour.dim(line)),
      onOutput: argv.foreground ? (chunk) => process.stderr.write(chunk) : undefined,
    });
    const { state } = result;
    if (argv.json) printJson({ ...state, alreadyRunning: result.alreadyRunning });
    if (result.alreadyRunning) {
      say(`Conductor is already running at ${state.url} (pid ${state.pid}). To change its settings, stop it first: idflow server stop`);
      return;
    }
    say(`${colour.green("Conductor")} ${state.version ?? ""} is running at ${colour.bold(state.url)} (pid ${state.pid})`.replace("  ", " "));
    say(colour.dim(`  ${state.memory ? "in memory: nothing is kept after it stops" : `data: ${state.dataFile}`}`));
    say(colour.dim(`  log:  ${state.logFile}   (idflow server logs)`));
    if (!argv.foreground) {
      say(colour.dim("  stop it with: idflow server stop"));
      return;
    }
    say(colour.dim("  attached: Ctrl-C stops it"));
    await stayAttached(stateDir, result.child!);
  },
};

/** Foreground: wait for the server to end; the first Ctrl-C stops it gracefully, a second kills it. */
async function stayAttached(stateDir: string, child: import("node:child_process").ChildProcess): Promise<void> {
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const onSignal = () => {
    if (stopping) {
      say("second interrupt: killing the server");
      if (child.pid && isAlive(child.pid)) child.kill("SIGKILL");
      process.exit(130);
    }
    stopping = true;
    say("stopping the server…");
    void stopLocalServer({ stateDir, onProgress: (l) => say(colour.dim(l)) });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const { code, signal } = await exited;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  await stopLocalServer({ stateDir }); // removes the state file if the server ended by itself
  if (stopping) {
    say("Conductor stopped");
    return;
  }
  throw new UserError(`Conductor exited on its own (${signal ? `signal ${signal}` : `code ${code}`}): see its log with idflow server logs`);
}
