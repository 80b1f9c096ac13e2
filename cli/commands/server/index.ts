/** `idflow server …`: the local Conductor, the embedded default. */
import type { CommandModule } from "yargs";
import { fetchServerCommand } from "./fetch.ts";
import { logsServerCommand } from "./logs.ts";
import { startServerCommand } from "./start.ts";
import { statusServerCommand } from "./status.ts";
import { stopServerCommand } from "./stop.ts";

export const serverCommand: CommandModule = {
  command: "server",
  describe: "the local Conductor server: start, stop, status, logs, fetch",
  builder: (y) =>
    y
      .command(startServerCommand as CommandModule)
      .command(stopServerCommand as CommandModule)
      .command(statusServerCommand as CommandModule)
      .command(logsServerCommand as CommandModule)
      .command(fetchServerCommand as CommandModule)
      .demandCommand(1, "name a server command: start, stop, status, logs, fetch"),
  handler: () => {},
};
