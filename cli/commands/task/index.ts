import type { CommandModule } from "yargs";
import { newTaskCommand } from "./new.ts";

export const taskCommand: CommandModule = {
  command: "task",
  describe: "create task folders",
  builder: (y) => y.command(newTaskCommand).demandCommand(1, "name a task command: new"),
  handler: () => {},
};
