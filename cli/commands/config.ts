/** `idflow config [--json] [--schema]`: the resolved configuration and where each value came from (secrets redacted). */
import type { CommandModule } from "yargs";
import { describeConfig, resolveConfig } from "../../src/config.ts";
import { configSchema } from "../../src/config-file.ts";
import { envWorkerVariables } from "../../src/discovery/env-overrides.ts";
import { flagValues } from "../config-flags.ts";
import type { GlobalFlags } from "../main.ts";
import { printJson, say, table } from "../output.ts";

interface ConfigArgs extends GlobalFlags {
  schema: boolean;
}

export const configCommand: CommandModule<object, ConfigArgs> = {
  command: "config",
  describe: "print the resolved configuration and each value's source (flag > env > idflow.config.json > default)",
  builder: (y) => y.option("schema", { type: "boolean", default: false, describe: "print the JSON Schema of idflow.config.json instead" }) as never,
  handler: (argv) => {
    if (argv.schema) {
      printJson(configSchema());
      return;
    }
    const c = resolveConfig(flagValues(argv as unknown as Record<string, unknown>));
    const rows = describeConfig(c);
    for (const v of envWorkerVariables())
      rows.push({ key: `workers.${v.task === "ALL" ? "*" : v.task}.${v.option}`, value: v.raw, source: "env", from: v.variable });
    if (argv.json) {
      printJson({ file: c.file ?? null, options: rows });
      return;
    }
    say(c.file ? `project file: ${c.file}` : `no idflow.config.json in ${c.root}`);
    say(
      table(
        ["OPTION", "VALUE", "SOURCE", "FROM"],
        rows.map((r) => [r.key, typeof r.value === "string" ? r.value : JSON.stringify(r.value), r.source, r.from ?? ""]),
      ),
    );
  },
};
