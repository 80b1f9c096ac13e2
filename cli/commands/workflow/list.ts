/**
 * `idflow workflow list [--all] [--json]`: the project's workflows beside the server's copies
 * (src/runs/project-workflows.ts). Exit 0; 1 when a workflow file cannot be read.
 */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { listProjectWorkflows, type WorkflowState } from "../../../src/runs/project-workflows.ts";
import type { GlobalFlags } from "../../main.ts";
import { colour, printJson, say, table } from "../../output.ts";

interface ListFlags extends GlobalFlags {
  all?: boolean;
}

const STATE_TEXT: Record<WorkflowState, string> = {
  same: "same as on the server",
  differs: "differs from the server (idflow worker upload updates it)",
  "not-uploaded": "not on the server (idflow worker upload)",
  "server-only": "only on the server",
};

export const listCommand: CommandModule<object, ListFlags> = {
  command: "list",
  describe: "the project's workflows beside what the server holds: versions, and whether the server's copy differs",
  builder: (y) =>
    y
      .option("all", { type: "boolean", default: false, describe: "also list workflows only the server holds" })
      .example("$0 workflow list", "project workflows: local version, server versions, same or differs")
      .example("$0 workflow list --all --json", "everything, as JSON") as never,
  handler: async (argv: ArgumentsCamelCase<ListFlags>) => {
    const paths = projectPaths(argv);
    const client = connect(argv, paths);
    try {
      const list = await listProjectWorkflows(client, paths.root, { includeServerOnly: argv.all });
      if (argv.json) printJson({ root: paths.root, server: client.baseUrl, workflows: list.entries, errors: list.errors });
      else {
        const paint = (s: WorkflowState, t: string) => (s === "same" ? colour.green(t) : s === "server-only" ? colour.dim(t) : colour.yellow(t));
        say(
          table(
            ["NAME", "LOCAL", "SERVER", "STATE"],
            list.entries.map((e) => [
              e.name,
              e.localVersion !== undefined ? `v${e.localVersion}` : "-",
              e.serverVersions.length ? e.serverVersions.map((v) => `v${v}`).join(", ") : "-",
              paint(e.state, STATE_TEXT[e.state]),
            ]),
          ),
        );
        if (list.entries.length === 0) say(`no workflow under ${paths.root}/workflows${argv.all ? " and none on the server" : " (--all lists the server's)"}`);
        for (const e of list.errors) say(`${colour.red("error")} ${e}`);
      }
      if (list.errors.length) process.exitCode = 1;
    } finally {
      client.close();
    }
  },
};
