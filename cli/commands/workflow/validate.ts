/**
 * `idflow workflow validate`: discover the workers, load workflows/*\/*.json and check them all
 * (for editors and CI). Exit 0 when valid (warnings allowed), 2 on any error. Writes nothing.
 */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { checkProject } from "../../../src/workflows/check.ts";
import { errorsOf, formatIssue, warningsOf, type Issue } from "../../../src/workflows/issues.ts";
import { colour, printJson, say } from "../../output.ts";
import type { GlobalFlags } from "../../main.ts";

export const validateCommand: CommandModule<object, GlobalFlags> = {
  command: "validate",
  describe: "check every workflow in workflows/*/ against Conductor's rules and the project's workers (exit 2 on errors)",
  builder: (y) =>
    y
      .example("$0 workflow validate", "errors and warnings with file:line and JSON pointer")
      .example("$0 workflow validate --json", "the same as JSON, for editors and CI") as never,
  handler: async (argv: ArgumentsCamelCase<GlobalFlags>) => {
    const { root } = projectPaths({ root: argv.root });
    const check = await checkProject({ root });
    const errors = errorsOf(check.issues);
    const warnings = warningsOf(check.issues);
    if (argv.json) {
      printJson({
        valid: errors.length === 0,
        workflows: check.workflows.map((w) => ({ name: w.def.name, version: w.def.version, file: w.source.file })),
        errors,
        warnings,
      });
    } else {
      printIssues(check.issues);
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
