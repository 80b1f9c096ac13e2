// Placeholder (being built): validate workflow definitions
import type { CommandModule } from "yargs";
export const validateCommand: CommandModule = {
  command: "validate",
  describe: "validate workflow definitions",
  handler: () => {
    throw new Error("not built yet");
  },
};
