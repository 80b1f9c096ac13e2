/** `idflow server fetch`: resolve (download once) the Conductor server jar, for set-up scripts. */
import type { CommandModule } from "yargs";
import { colour, printJson, say } from "../../output.ts";
import { explainServerChoice, findJava, resolveServerJar } from "../../../src/server/index.ts";
import { javaAndJarOptions } from "./options.ts";

interface FetchArgs {
  json?: boolean;
  java?: string;
  jar?: string;
  conductorVersion?: string;
}

export const fetchServerCommand: CommandModule<object, FetchArgs> = {
  command: "fetch",
  describe: "resolve and download the Conductor server jar through Maven, without starting it",
  builder: (y) => javaAndJarOptions(y) as never,
  handler: async (argv) => {
    const java = await findJava({ java: argv.java });
    const jar = await resolveServerJar({ javaMajor: java.major, jar: argv.jar, version: argv.conductorVersion, onProgress: (l) => say(colour.dim(l)) });
    const choice = explainServerChoice({ ...jar, java });
    if (argv.json)
      printJson({
        jar: jar.jar,
        version: jar.version,
        source: jar.source,
        java: java.path,
        javaVersion: java.version,
        why: choice.why,
        newerLine: choice.newerLine,
      });
    say(`Conductor ${jar.version ?? "(version unknown)"} is ready: ${jar.jar}`);
    say(colour.dim(`  ${choice.why}`));
    if (choice.newerLine) say(colour.dim(`  ${choice.newerLine}`));
  },
};
