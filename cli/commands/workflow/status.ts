/**
 * `idflow workflow status <id> [--watch] [--json]`: a run as a tree (src/runs/status-tree.ts).
 * Exit 0; with --watch it redraws until the run ends and exits 1 when it ended FAILED,
 * TIMED_OUT or TERMINATED.
 */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { ConductorError } from "../../../src/conductor/errors.ts";
import { isTerminal } from "../../../src/conductor/wait.ts";
import type { WorkflowStatus } from "../../../src/conductor/types.ts";
import { renderRunTree } from "../../../src/runs/render-tree.ts";
import { loadRunTree, type RunTree } from "../../../src/runs/status-tree.ts";
import type { GlobalFlags } from "../../main.ts";
import { printJson, UserError } from "../../output.ts";
import { paintStatus } from "./present.ts";

interface StatusFlags extends GlobalFlags {
  id: string;
  watch?: boolean;
  interval?: number;
}

export const statusCommand: CommandModule<object, StatusFlags> = {
  command: "status <id>",
  describe: "show a workflow run as a tree: forks, switch cases, loop iterations, sub-workflows; each task's status, worker, attempt, duration, failure reason",
  builder: (y) =>
    y
      .positional("id", { type: "string", demandOption: true, describe: "workflow id (as `workflow run` or `workflow search` print it)" })
      .option("watch", { type: "boolean", default: false, describe: "redraw until the run ends; exit 1 if it ends FAILED, TIMED_OUT or TERMINATED" })
      .option("interval", { type: "number", default: 1, describe: "time between redraws with --watch, in seconds" })
      .example("$0 workflow status 3f2a…", "the tree of one run")
      .example("$0 workflow status 3f2a… --watch", "follow it until it ends")
      .example("$0 workflow status 3f2a… --json", "the tree as JSON") as never,
  handler: async (argv: ArgumentsCamelCase<StatusFlags>) => {
    if (!Number.isFinite(argv.interval) || (argv.interval ?? 1) <= 0)
      throw new UserError(`--interval must be a number of seconds above 0, got ${String(argv.interval)}`, 2);
    const client = connect(argv, projectPaths(argv));
    const load = async (): Promise<RunTree> => {
      try {
        return await loadRunTree(client, argv.id);
      } catch (err) {
        if (err instanceof ConductorError && err.status === 404)
          throw new UserError(`no workflow run with id ${argv.id} on ${client.baseUrl}: \`idflow workflow search\` lists recent runs`, 1);
        throw err;
      }
    };
    try {
      let tree = await load();
      if (!argv.watch) {
        show(tree, argv.json);
        return;
      }
      const tty = Boolean(process.stderr.isTTY) && !argv.json;
      let last = "";
      for (;;) {
        const text = renderRunTree(tree, paintStatus).join("\n");
        if (!argv.json && text !== last) {
          // On a terminal the tree is redrawn in place; elsewhere each change is printed once.
          process.stderr.write(tty ? `\u001b[H\u001b[2J${text}\n` : `${last ? "\n" : ""}${text}\n`);
          last = text;
        }
        if (isTerminal(tree.status as WorkflowStatus)) break;
        await new Promise((r) => setTimeout(r, (argv.interval ?? 1) * 1000));
        tree = await load();
      }
      if (argv.json) printJson(tree);
      if (tree.status !== "COMPLETED") process.exitCode = 1;
    } finally {
      client.close();
    }
  },
};

function show(tree: RunTree, json?: boolean): void {
  if (json) printJson(tree);
  else process.stderr.write(`${renderRunTree(tree, paintStatus).join("\n")}\n`);
}
