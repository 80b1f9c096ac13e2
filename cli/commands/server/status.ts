/** `idflow server status`: is the local Conductor up, where, which version. Exit 0 when it answers, 1 otherwise. */
import type { CommandModule } from "yargs";
import { resolveServerUrl, projectPaths } from "../../../src/config.ts";
import { colour, printJson, say } from "../../output.ts";
import { serverStatus } from "../../../src/server/index.ts";
import { isAlive } from "../../../src/server/state.ts";
import { stateDirOf } from "./options.ts";

interface StatusArgs {
  root?: string;
  serverUrl?: string;
  json?: boolean;
}

export const statusServerCommand: CommandModule<object, StatusArgs> = {
  command: "status",
  describe: "tell whether the local Conductor is up, where, and its version (exit 1 when not)",
  handler: async (argv) => {
    const stateDir = stateDirOf(argv);
    const s = await serverStatus({ stateDir });
    const used = resolveServerUrl({ serverUrl: argv.serverUrl }, projectPaths({ root: argv.root }));
    if (argv.json) {
      printJson({
        running: s.running,
        healthy: s.healthy ?? false,
        url: s.state?.url,
        pid: s.state?.pid,
        port: s.state?.port,
        version: s.version,
        versionReason: s.state?.versionReason,
        java: s.state?.java,
        memory: s.state?.memory,
        dataFile: s.state?.dataFile,
        logFile: s.state?.logFile,
        mender: s.state ? { pid: s.state.menderPid, running: !!s.state.menderPid && isAlive(s.state.menderPid) } : undefined,
        startedAt: s.state?.startedAt,
        staleCleaned: s.staleCleaned,
        commandsUse: used,
      });
      if (!s.running || !s.healthy) process.exitCode = 1;
      return;
    }
    if (s.staleCleaned) say(colour.yellow(s.staleCleaned));
    if (!s.running) {
      say(`no local Conductor is running: start one with idflow server start`);
    } else {
      const st = s.state!;
      say(
        s.healthy
          ? `${colour.green("Conductor")} ${s.version ?? ""} is up at ${colour.bold(st.url)} (pid ${st.pid}, since ${st.startedAt})`.replace("  ", " ")
          : `${colour.yellow("Conductor")} (pid ${st.pid}) is running but does not answer ${st.url}/health yet: still starting? see idflow server logs`,
      );
      say(colour.dim(`  ${st.memory ? "in memory: nothing is kept after it stops" : `data: ${st.dataFile}`}`));
      say(colour.dim(`  log:  ${st.logFile}`));
      say(
        colour.dim(
          st.menderPid && isAlive(st.menderPid)
            ? `  mender: running (pid ${st.menderPid}): decides workflows left RUNNING with nothing to run`
            : "  mender: not running (idflow server start starts it again)",
        ),
      );
    }
    if (used.source === "flag" || used.source === "env") {
      say(
        colour.dim(
          `note: other commands talk to ${used.url} (from ${used.source === "flag" ? "--server-url" : "CONDUCTOR_SERVER_URL"}), not to the local server`,
        ),
      );
    }
    if (!s.running || !s.healthy) process.exitCode = 1;
  },
};
