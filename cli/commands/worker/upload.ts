/**
 * `idflow worker upload`: discover the workers, validate every workflow, and only when all is
 * valid upsert the task definitions and then the workflows. Each definition is reported as
 * created, updated or unchanged. Exit 2 on validation errors (nothing uploaded), 1 when
 * Conductor refuses something.
 */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { upload, UploadRefusedError, type UploadEntry } from "../../../src/upload/upload.ts";
import { checkProject, WorkflowValidationError } from "../../../src/workflows/check.ts";
import { errorsOf, formatIssue } from "../../../src/workflows/issues.ts";
import { colour, printJson, say, table } from "../../output.ts";
import type { GlobalFlags } from "../../main.ts";
import { printIssues } from "../workflow/validate.ts";

interface UploadFlags extends GlobalFlags {
  dryRun: boolean;
  workflow?: string[];
  tasksOnly?: boolean;
  workflowsOnly?: boolean;
}

export const uploadCommand: CommandModule<object, UploadFlags> = {
  command: "upload",
  describe: "validate, then upload task and workflow definitions (upserts; reports created/updated/unchanged)",
  builder: (y) =>
    y
      .option("dry-run", { type: "boolean", default: false, describe: "show what would be created or updated, write nothing" })
      .option("workflow", { type: "string", array: true, describe: "only this workflow (repeatable), with the task definitions it uses" })
      .option("tasks-only", { type: "boolean", describe: "upload task definitions only" })
      .option("workflows-only", { type: "boolean", describe: "upload workflow definitions only" })
      .conflicts("tasks-only", "workflows-only")
      .example("$0 worker upload --dry-run", "what would change on the server")
      .example("$0 worker upload --workflow research_blog_post_ideas", "one workflow and its tasks") as never,
  handler: async (argv: ArgumentsCamelCase<UploadFlags>) => {
    const paths = projectPaths({ root: argv.root });
    const client = connect({ serverUrl: argv.serverUrl, root: argv.root }, paths);
    // Validate for the server we upload to: its own version (GET /api/admin/config).
    const check = await checkProject({ root: paths.root, client, stateDir: paths.stateDir });
    // Workflows are not uploaded with --tasks-only, so only task load errors stop it then.
    const blocking = argv.tasksOnly ? errorsOf(check.issues).filter((i) => i.rule === "task-load") : errorsOf(check.issues);
    if (blocking.length) {
      if (argv.json) printJson({ uploaded: false, errors: blocking, warnings: check.issues.filter((i) => i.severity === "warning") });
      else {
        printIssues(check.issues);
        say(colour.red(`${blocking.length} error${blocking.length === 1 ? "" : "s"}: nothing was uploaded`));
      }
      client.close();
      process.exitCode = 2;
      return;
    }
    try {
      const report = await upload(client, {
        registrations: check.registrations,
        workflows: check.workflows,
        config: check.config,
        root: paths.root,
        dryRun: argv.dryRun,
        tasksOnly: argv.tasksOnly,
        workflowsOnly: argv.workflowsOnly,
        workflowFilter: argv.workflow,
        target: check.target,
      });
      if (argv.json) {
        printJson({
          uploaded: !report.dryRun,
          dryRun: report.dryRun,
          server: client.baseUrl,
          conductorVersion: report.target?.version,
          definitions: report.entries,
          warnings: report.warnings,
        });
        return;
      }
      for (const w of report.warnings) say(`${colour.yellow("warning")} ${formatIssue(w)}`);
      printEntries(report.entries);
      const changed = report.entries.filter((e) => e.action !== "unchanged").length;
      say(
        report.dryRun
          ? `dry run against ${client.baseUrl}: ${changed} of ${report.entries.length} definition(s) would be written; nothing was written`
          : `${client.baseUrl}: ${changed} written, ${report.entries.length - changed} unchanged`,
      );
    } catch (err) {
      if (err instanceof UploadRefusedError && argv.json) {
        printJson({ uploaded: false, error: err.message, written: err.written, planned: err.planned });
      } else if (err instanceof WorkflowValidationError && argv.json) {
        printJson({ uploaded: false, errors: errorsOf(err.issues), warnings: err.issues.filter((i) => i.severity === "warning") });
        process.exitCode = 2;
        return;
      }
      throw err;
    } finally {
      client.close();
    }
  },
};

function printEntries(entries: UploadEntry[]): void {
  if (!entries.length) {
    say("nothing to upload: no workers under tasks/ and no workflows under workflows/");
    return;
  }
  const paint = (a: string) => (a === "created" ? colour.green(a) : a === "updated" ? colour.yellow(a) : colour.dim(a));
  // Pad before painting so colour codes do not break the columns.
  const rows = entries.map((e) => [e.kind, e.name, e.version === undefined ? "" : String(e.version), e.action]);
  const lines = table(["kind", "name", "version", "action"], rows).split("\n");
  for (const [i, line] of lines.entries()) {
    if (i < 2) {
      say(line);
      continue;
    }
    const action = rows[i - 2][3];
    say(line.slice(0, line.length - action.length) + paint(action));
  }
}
