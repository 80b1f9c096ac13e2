import type { CommandModule } from "yargs";
import { runCommand } from "./run.ts";
import { validateCommand } from "./validate.ts";

export const workflowCommand: CommandModule = {
  command: "workflow",
  describe: "workflow definitions and runs",
  builder: (y) => y.command(validateCommand).command(runCommand).demandCommand(1, "name a workflow command: validate, run"),
  handler: () => {},
};
