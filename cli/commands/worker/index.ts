import type { CommandModule } from "yargs";
import { execCommand } from "./exec.ts";
import { listCommand } from "./list.ts";
import { startCommand } from "./start.ts";
import { uploadCommand } from "./upload.ts";

export const workerCommand: CommandModule = {
  command: "worker",
  describe: "discover, upload and run task workers",
  builder: (y) =>
    y
      .command(listCommand)
      .command(uploadCommand)
      .command(startCommand)
      .command(execCommand)
      .demandCommand(1, "name a worker command: list, upload, start, exec"),
  handler: () => {},
};
