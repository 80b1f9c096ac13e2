// Placeholder (being built): upload task and workflow definitions
import type { CommandModule } from "yargs";
export const uploadCommand: CommandModule = {
  command: "upload",
  describe: "upload task and workflow definitions",
  handler: () => {
    throw new Error("not built yet");
  },
};
