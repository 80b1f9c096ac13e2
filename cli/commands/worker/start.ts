// Placeholder (being built): start workers
import type { CommandModule } from "yargs";
export const startCommand: CommandModule = {
  command: "start",
  describe: "start workers",
  handler: () => {
    throw new Error("not built yet");
  },
};
