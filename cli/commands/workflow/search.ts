/** `idflow workflow search [--status S] [--name N] [--since 1h] [--limit 20] [--json]`: recent runs, newest first (src/runs/search.ts). */
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { formatDuration } from "../../../src/runs/render-tree.ts";
import { parseSince, searchRuns, WORKFLOW_STATUSES } from "../../../src/runs/search.ts";
import type { GlobalFlags } from "../../main.ts";
import { printJson, say, table, UserError } from "../../output.ts";

interface SearchFlags extends GlobalFlags {
  status?: string[];
  name?: string[];
  since?: string;
  limit: number;
}

export const searchCommand: CommandModule<object, SearchFlags> = {
  command: "search",
  describe: "recent workflow runs, newest first, by status, name and age",
  builder: (y) =>
    y
      .option("status", { type: "string", array: true, describe: `only runs in this status (repeatable): ${WORKFLOW_STATUSES.join(", ")}` })
      .option("name", { type: "string", array: true, describe: "only runs of this workflow (repeatable)" })
      .option("since", { type: "string", describe: "only runs started this long ago or less: 30m, 1h, 2d" })
      .option("limit", { type: "number", default: 20, describe: "most runs shown" })
      .example("$0 workflow search --status FAILED --since 1h", "what failed in the last hour")
      .example("$0 workflow search --name research_blog_post_ideas --json", "recent runs of one workflow, as JSON") as never,
  handler: async (argv: ArgumentsCamelCase<SearchFlags>) => {
    if (!Number.isInteger(argv.limit) || argv.limit < 1 || argv.limit > 1000)
      throw new UserError(`--limit must be a whole number between 1 and 1000, got ${String(argv.limit)}`, 2);
    const sinceMs = argv.since !== undefined ? parseSince(argv.since) : undefined;
    const client = connect(argv, projectPaths(argv));
    try {
      const { totalHits, runs } = await searchRuns(client, { status: argv.status, name: argv.name, sinceMs, limit: argv.limit });
      if (argv.json) {
        printJson({ totalHits, runs });
        return;
      }
      if (runs.length === 0) {
        say("no run matches (the in-memory server keeps no search index: see `idflow server start --memory`)");
        return;
      }
      say(
        table(
          ["STARTED", "WORKFLOW", "STATUS", "DURATION", "ID", "FAILED TASKS / REASON"],
          runs.map((r) => [
            r.startTime ? new Date(r.startTime).toISOString().replace("T", " ").slice(0, 19) : "-",
            `${r.name}${r.version !== undefined ? ` v${r.version}` : ""}`,
            r.status,
            formatDuration(r.durationMs),
            r.workflowId,
            [r.failedTasks.join(", "), r.reason ?? ""].filter(Boolean).join(": ").slice(0, 80),
          ]),
        ),
      );
      if (totalHits > runs.length) say(`${runs.length} of ${totalHits} shown (--limit shows more)`);
    } finally {
      client.close();
    }
  },
};
