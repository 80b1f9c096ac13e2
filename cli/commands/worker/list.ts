/**
 * `idflow worker list`: the discovered workers as a table (or --json), then every folder that
 * failed to load and why. `--defs` prints the task definitions idflow would upload.
 * Exit 0 when everything loaded, 1 when anything failed (the rest is still listed).
 */
import path from "node:path";
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { discover } from "../../../src/discovery/discover.ts";
import { toTaskDef } from "../../../src/discovery/task-def.ts";
import { WORKER_DEFAULTS } from "../../../src/task/options.ts";
import type { Registration } from "../../../src/task/registration.ts";
import { colour, printJson, say, table } from "../../output.ts";
import type { GlobalFlags } from "../../main.ts";

interface ListFlags extends GlobalFlags {
  defs?: boolean;
}

/** The row `worker list --json` prints for a registration (effective values, defaults filled in). */
export function workerSummary(reg: Registration, root: string) {
  const o = reg.options;
  const def = toTaskDef(reg); // the task-definition fields with their defaults, as uploaded
  return {
    name: reg.name,
    domain: reg.domain ?? null,
    symbol: reg.symbol ?? null,
    sourceFile: path.relative(root, reg.sourceFile),
    concurrency: o.concurrency ?? WORKER_DEFAULTS.concurrency,
    pollIntervalMs: o.pollIntervalMs ?? WORKER_DEFAULTS.pollIntervalMs,
    pollTimeoutMs: o.pollTimeoutMs ?? WORKER_DEFAULTS.pollTimeoutMs,
    paused: o.paused ?? WORKER_DEFAULTS.paused,
    retryCount: def.retryCount,
    retryLogic: def.retryLogic,
    retryDelaySeconds: def.retryDelaySeconds,
    timeoutSeconds: def.timeoutSeconds,
    responseTimeoutSeconds: def.responseTimeoutSeconds,
    execTimeoutSeconds: o.execTimeoutSeconds ?? WORKER_DEFAULTS.execTimeoutSeconds,
    envOverrides: reg.envOverrides ?? {},
    exec: reg.exec ?? null,
  };
}

export const listCommand: CommandModule<object, ListFlags> = {
  command: "list",
  describe: "list the workers found in tasks/*/ and every folder that failed to load",
  builder: (y) =>
    y
      .option("defs", { type: "boolean", default: false, describe: "print the Conductor task definitions instead of the table" })
      .example("$0 worker list", "table of workers, then load errors")
      .example("$0 worker list --defs --json", "the task definitions as JSON") as never,
  handler: async (argv: ArgumentsCamelCase<ListFlags>) => {
    const { root } = projectPaths({ root: argv.root });
    const started = performance.now();
    const result = await discover({ root });
    const ms = Math.round(performance.now() - started);
    const rel = (p?: string) => (p ? path.relative(root, p) || p : undefined);
    const errors = result.errors.map((e) => ({ folder: rel(e.folder), file: rel(e.file) ?? null, message: e.message }));

    if (argv.json) {
      if (argv.defs) printJson({ taskDefs: result.registrations.map(toTaskDef), errors });
      else printJson({ root, workers: result.registrations.map((r) => workerSummary(r, root)), errors });
    } else if (argv.defs) {
      for (const reg of result.registrations) {
        say(colour.bold(`# ${reg.name}${reg.domain ? ` (domain ${reg.domain})` : ""}  ${colour.dim(rel(reg.sourceFile) ?? "")}`));
        say(JSON.stringify(toTaskDef(reg), null, 2));
      }
    } else {
      const rows = result.registrations.map((r) => {
        const s = workerSummary(r, root);
        return [
          s.name,
          s.domain ?? "-",
          String(s.concurrency),
          `${s.pollIntervalMs} ms`,
          `${s.retryCount} × ${s.retryDelaySeconds}s ${s.retryLogic === "FIXED" ? "" : s.retryLogic.replace("_BACKOFF", "").toLowerCase()}`.trimEnd(),
          `${s.timeoutSeconds || "none"}/${s.responseTimeoutSeconds}s`,
          `${s.sourceFile}${s.symbol && s.symbol !== s.name ? ` (${s.symbol})` : ""}${s.paused ? " [paused]" : ""}`,
        ];
      });
      if (rows.length > 0) {
        say(table(["NAME", "DOMAIN", "CONC", "POLL", "RETRIES", "TIMEOUT/RESP", "SOURCE"], rows));
      } else {
        say(`no workers found in ${path.join(root, "tasks")}/*/`);
      }
    }
    if (!argv.json) {
      const folders = new Set(result.registrations.map((r) => path.dirname(r.sourceFile)));
      say(colour.dim(`\n${result.registrations.length} worker(s) from ${folders.size} folder(s) in ${ms} ms`));
      if (errors.length > 0) {
        say(colour.red(`\n${errors.length} problem(s):`));
        for (const e of errors) say(`  ${colour.red("✗")} ${e.message}`);
      }
    }
    if (errors.length > 0) process.exitCode = 1;
  },
};
