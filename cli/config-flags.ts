/** yargs flags derived from the option declarations in src/config.ts (each option declared once). */
import type { Argv, Options } from "yargs";
import { CONFIG_OPTIONS, type ConfigFlags } from "../src/config.ts";
import { WORKER_SETTING_DECLS, type WorkerSettingDecl, type WorkerSettingValues } from "../src/task/options.ts";
import { UserError } from "./output.ts";

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

/** The `worker start` flags that override worker options for every selected worker (from WORKER_SETTING_DECLS). */
export function workerFlags<T>(y: Argv<T>): Argv<T> {
  let out = y;
  for (const [, d] of workerFlagDecls()) {
    const type = d.type === "integer" || d.type === "number" ? "number" : d.type === "boolean" ? "boolean" : "string";
    out = out.option(d.flag!, {
      type,
      describe: `${d.doc} (every selected worker; beats the decorator, the file and CONDUCTOR_WORKER_*_${d.env[0]})`,
    }) as Argv<T>;
  }
  return out;
}

/** The worker overrides the flags gave; a value out of bounds is a usage error naming the flag. */
export function workerFlagValues(argv: Record<string, unknown>): WorkerSettingValues {
  const out: Record<string, unknown> = {};
  for (const [key, d] of workerFlagDecls()) {
    const v = argv[d.flag!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (v === undefined) continue;
    if (d.type === "integer" || d.type === "number") {
      const n = v as number;
      const bad =
        !Number.isFinite(n) ||
        (d.type === "integer" && !Number.isInteger(n)) ||
        (d.minimum !== undefined && n < d.minimum) ||
        (d.maximum !== undefined && n > d.maximum);
      if (bad) {
        const range = d.maximum !== undefined ? ` between ${d.minimum} and ${d.maximum}` : d.minimum !== undefined ? ` >= ${d.minimum}` : "";
        throw new UserError(`--${d.flag} must be ${d.type === "integer" ? "a whole number" : "a number"}${range}, got ${String(v)}`, 2);
      }
    }
    out[key] = v;
  }
  return out as WorkerSettingValues;
}

function workerFlagDecls(): Array<[string, WorkerSettingDecl]> {
  return (Object.entries(WORKER_SETTING_DECLS) as Array<[string, WorkerSettingDecl]>).filter(([, d]) => d.flag);
}
