// Placeholder: the server command group (start | stop | status | logs | fetch) is being built.
import type { CommandModule } from "yargs";
export const serverCommand: CommandModule = {
  command: "server",
  describe: "the local Conductor server",
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};
