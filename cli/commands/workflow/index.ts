import type { CommandModule } from "yargs";
import { listCommand } from "./list.ts";
import { runCommand } from "./run.ts";
import { searchCommand } from "./search.ts";
import { statusCommand } from "./status.ts";
import { validateCommand } from "./validate.ts";

export const workflowCommand: CommandModule = {
  command: "workflow",
  describe: "workflow definitions and runs",
  builder: (y) =>
    y
      .command(validateCommand)
      .command(runCommand)
      .command(statusCommand)
      .command(listCommand)
      .command(searchCommand)
      .demandCommand(1, "name a workflow command: validate, run, status, list, search"),
  handler: () => {},
};
