// Placeholder (being built): list the discovered workers
import type { CommandModule } from "yargs";
export const listCommand: CommandModule = {
  command: "list",
  describe: "list the discovered workers",
  handler: () => {
    throw new Error("not built yet");
  },
};
