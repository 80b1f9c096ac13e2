/**
 * `idflow task new <name> [--class]`: tasks/<name>/<name>.ts and a test beside it, in the
 * project's decorator mode. Refuses a name Conductor would not accept, a folder the scanner
 * would skip, and a name that a folder or a discovered worker already has.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { discover } from "../discovery/discover.ts";
import { NAME_PATTERN } from "../task/validate-options.ts";
import { decoratorMode, type DecoratorMode } from "./decorator-mode.ts";
import { ScaffoldError } from "./init.ts";
import { taskModule, taskTest } from "./templates.ts";
import { emptyReport, writeNew, type ScaffoldReport } from "./write.ts";

export interface NewTaskResult extends ScaffoldReport {
  name: string;
  mode: DecoratorMode;
  tsconfig: string | false;
}

/** Why `name` cannot be a new task's name, or undefined. */
export function invalidTaskName(name: string): string | undefined {
  if (!NAME_PATTERN.test(name)) return `"${name}" is not a valid Conductor task name: use only letters, digits, "_", "-" and "." (e.g. send_invoice)`;
  if (/^[_.]/.test(name))
    return `"${name}" starts with "${name[0]}": task folders starting with "_" or "." are skipped by discovery; start it with a letter or digit`;
  if (name.length > 100) return `"${name}" is ${name.length} characters long: keep task names short (at most 100)`;
  return undefined;
}

export async function newTask(root: string, name: string, opts: { asClass: boolean }): Promise<NewTaskResult> {
  const problem = invalidTaskName(name);
  if (problem) throw new ScaffoldError(problem);
  const folder = path.join(root, "tasks", name);
  if (existsSync(folder)) throw new ScaffoldError(`tasks/${name} already exists: pick another name, or edit tasks/${name}/ yourself`);
  const found = await discover({ root });
  const same = found.registrations.find((r) => r.name === name);
  if (same) throw new ScaffoldError(`a worker named "${name}" already exists in ${path.relative(root, same.sourceFile)}: pick another name`);
  const { mode, tsconfig } = decoratorMode(root);
  const report = emptyReport();
  writeNew(root, `tasks/${name}/${name}.ts`, taskModule(name, { asClass: opts.asClass, mode }), report);
  writeNew(root, `tasks/${name}/${name}.test.ts`, taskTest(name, { asClass: opts.asClass }), report);
  return { name, mode, tsconfig, ...report };
}
