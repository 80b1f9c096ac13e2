/** `idflow init [dir]`: scaffold a project, or add what an existing one is missing (never overwrites). */
import path from "node:path";
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { INIT_WORKFLOW, initProject } from "../../src/scaffold/init.ts";
import type { GlobalFlags } from "../main.ts";
import { colour, printJson, say } from "../output.ts";

interface InitFlags extends GlobalFlags {
  dir?: string;
}

export const initCommand: CommandModule<object, InitFlags> = {
  command: "init [dir]",
  describe: "create an idflow project in DIR (default: the current folder); in an existing project, add only what is missing",
  builder: (y) =>
    y
      .positional("dir", { type: "string", describe: "project folder (created if needed)" })
      .example("$0 init my-workers", "a new project in ./my-workers")
      .example("$0 init", "complete the project in the current folder") as never,
  handler: (argv: ArgumentsCamelCase<InitFlags>) => {
    const result = initProject(argv.dir ?? argv.root ?? process.cwd());
    if (argv.json) return printJson(result);
    const rel = path.relative(process.cwd(), result.root) || ".";
    for (const f of result.created) say(`${colour.green("created")} ${f}`);
    for (const f of result.added) say(`${colour.green("added")}   ${f}`);
    for (const f of result.kept) say(colour.dim(`kept    ${f} (exists)`));
    if (result.note) say(colour.yellow(`note: ${result.note}`));
    if (result.created.length === 0 && result.added.length === 0) {
      say(`${rel}: nothing to add, the project has everything idflow init writes`);
      return;
    }
    say("");
    say("Next:");
    if (rel !== ".") say(`  cd ${rel}`);
    say("  npm install");
    say("  npm start        # local Conductor, upload, run the workers");
    say(`  npx idflow workflow run ${INIT_WORKFLOW} --input '{"text":"hi"}' --wait   # in another terminal`);
  },
};
