import type { CommandModule } from "yargs";
import { validateCommand } from "./validate.ts";

export const workflowCommand: CommandModule = {
  command: "workflow",
  describe: "workflow definitions",
  builder: (y) => y.command(validateCommand).demandCommand(1, "name a workflow command: validate"),
  handler: () => {},
};
