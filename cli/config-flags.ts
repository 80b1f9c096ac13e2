/** yargs flags derived from the option declarations in src/config.ts (each option declared once). */
import type { Argv, Options } from "yargs";
import { CONFIG_OPTIONS, type ConfigFlags } from "../src/config.ts";

/** Add the flags of these options (by key) to a command. */
export function configFlags<T>(y: Argv<T>, keys: string[]): Argv<T> {
  let out = y;
  for (const key of keys) {
    const d = CONFIG_OPTIONS.find((o) => o.key === key);
    if (!d?.flag) throw new Error(`option ${key} has no flag`);
    const env = d.env?.length ? `; env ${d.env[0]}` : "";
    const def = d.default !== undefined ? `; default ${JSON.stringify(d.default)}` : "";
    const opt: Options = { type: d.type === "integer" ? "number" : d.type === "boolean" ? "boolean" : "string", describe: `${d.doc}${env}${def}` };
    if (d.choices) opt.choices = [...d.choices];
    out = out.option(d.flag, opt) as Argv<T>;
  }
  return out;
}

/** The values flags gave, keyed like the declarations (for resolveConfig). */
export function flagValues(argv: Record<string, unknown>): ConfigFlags {
  const out: ConfigFlags = {};
  for (const d of CONFIG_OPTIONS) {
    if (!d.flag) continue;
    const camel = d.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = argv[camel];
    if (v !== undefined) out[d.key] = v;
  }
  return out;
}
