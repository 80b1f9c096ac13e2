/** `idflow task new <name> [--class]`: tasks/<name>/<name>.ts and its test, in the project's decorator mode. */
import path from "node:path";
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { newTask } from "../../../src/scaffold/task-new.ts";
import type { GlobalFlags } from "../../main.ts";
import { colour, printJson, say } from "../../output.ts";

interface NewFlags extends GlobalFlags {
  name: string;
  class: boolean;
}

export const newTaskCommand: CommandModule<object, NewFlags> = {
  command: "new <name>",
  describe: "add tasks/NAME/NAME.ts and a test beside it (NAME is the Conductor task name)",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true, describe: "task name: letters, digits, _ - ." })
      .option("class", { type: "boolean", default: false, describe: "a decorated class method instead of a wrapped function" })
      .example("$0 task new send_invoice", "a function task")
      .example("$0 task new resize_image --class", "a class with a decorated method") as never,
  handler: async (argv: ArgumentsCamelCase<NewFlags>) => {
    const { root } = projectPaths({ root: argv.root });
    const result = await newTask(root, String(argv.name), { asClass: argv.class });
    if (argv.json) return printJson(result);
    for (const f of result.created) say(`${colour.green("created")} ${f}`);
    const where = result.tsconfig === false ? "no tsconfig.json found" : path.relative(root, result.tsconfig) || result.tsconfig;
    say(colour.dim(`decorators: ${result.mode === "experimental" ? "experimentalDecorators" : "TC39 standard"} (${where})`));
    say(`Run its test with: node --import tsx --test tasks/${result.name}/${result.name}.test.ts`);
  },
};
