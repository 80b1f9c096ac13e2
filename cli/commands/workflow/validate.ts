/**
 * `idflow workflow validate`: discover the workers, load workflows/*\/*.json and check them all
 * (for editors and CI) for one Conductor version: --conductor-version, else the server's own
 * (when one answers within 1.5 s), else idflow.config.json's conductorVersion, else the local
 * server's. Exit 0 when valid (warnings allowed), 2 on any error. Writes nothing.
 */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { checkProject } from "../../../src/workflows/check.ts";
import { VERSION_PATTERN } from "../../../src/workflows/target.ts";
import { errorsOf, formatIssue, warningsOf, type Issue } from "../../../src/workflows/issues.ts";
import { colour, printJson, say, UserError } from "../../output.ts";
import type { GlobalFlags } from "../../main.ts";

interface ValidateFlags extends GlobalFlags {
  conductorVersion?: string;
  offline?: boolean;
}

export const validateCommand: CommandModule<object, ValidateFlags> = {
  command: "validate",
  describe: "check every workflow in workflows/*/ against Conductor's rules and the project's workers (exit 2 on errors)",
  builder: (y) =>
    y
      .option("conductor-version", {
        type: "string",
        describe: "validate for this Conductor version (default: the server's, else conductorVersion in idflow.config.json, else the local server's)",
      })
      .option("offline", { type: "boolean", default: false, describe: "do not ask a server for its version" })
      .check((a) => {
        const v = a["conductor-version"];
        if (v !== undefined && (typeof v !== "string" || !VERSION_PATTERN.test(v)))
          throw new UserError(`--conductor-version "${String(v)}" is not a version such as 3.21.14`, 2);
        return true;
      })
      .example("$0 workflow validate", "errors and warnings with file:line and JSON pointer")
      .example("$0 workflow validate --conductor-version 3.32.3", "as a Conductor 3.32.3 server would see them")
      .example("$0 workflow validate --json", "the same as JSON, for editors and CI") as never,
  handler: async (argv: ArgumentsCamelCase<ValidateFlags>) => {
    const paths = projectPaths({ root: argv.root });
    const root = paths.root;
    const client = argv.conductorVersion || argv.offline ? undefined : connect({ serverUrl: argv.serverUrl, root: argv.root }, paths);
    let check: Awaited<ReturnType<typeof checkProject>>;
    try {
      check = await checkProject({ root, conductorVersion: argv.conductorVersion, client, serverTimeoutMs: 1500, stateDir: paths.stateDir });
    } finally {
      client?.close();
    }
    const errors = errorsOf(check.issues);
    const warnings = warningsOf(check.issues);
    if (argv.json) {
      printJson({
        valid: errors.length === 0,
        conductorVersion: check.target.version,
        conductorVersionSource: check.target.source,
        workflows: check.workflows.map((w) => ({ name: w.def.name, version: w.def.version, file: w.source.file })),
        errors,
        warnings,
      });
    } else {
      printIssues(check.issues);
      say(`validated for Conductor ${check.target.version} (${check.target.reason})`);
      const summary = `${check.workflows.length} workflow${check.workflows.length === 1 ? "" : "s"} checked against ${check.registrations.length} worker${check.registrations.length === 1 ? "" : "s"}: ${errors.length} error${errors.length === 1 ? "" : "s"}, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}`;
      say(errors.length ? colour.red(summary) : colour.green(summary));
    }
    if (errors.length) process.exitCode = 2;
  },
};

/** Each issue on stderr, errors in red and warnings in yellow. */
export function printIssues(issues: Issue[]): void {
  for (const i of issues) {
    say(`${i.severity === "error" ? colour.red("error") : colour.yellow("warning")} ${formatIssue(i)}`);
  }
}
