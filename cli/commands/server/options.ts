/** Flags shared by `server start` and `server fetch`: which java and which Conductor. */
import type { Argv } from "yargs";
import { projectPaths } from "../../../src/config.ts";

export function javaAndJarOptions<T>(y: Argv<T>) {
  return y
    .option("java", { type: "string", describe: "java executable to run Conductor with (default: IDFLOW_JAVA, then JAVA_HOME, then PATH)" })
    .option("conductor-version", {
      type: "string",
      describe: "Conductor OSS version to resolve through Maven (default: IDFLOW_CONDUCTOR_VERSION, then the newest pinned one your Java runs)",
    })
    .option("jar", { type: "string", describe: "run this server jar instead of resolving one (default: IDFLOW_CONDUCTOR_JAR)" });
}

/** The project's state folder from the global flags. */
export function stateDirOf(argv: { root?: unknown }): string {
  return projectPaths({ root: typeof argv.root === "string" ? argv.root : undefined }).stateDir;
}
