/**
 * `idflow init [dir]`: a project that works at once (package.json with idflow and its scripts,
 * tsconfig.json, one task with a test, one workflow, .gitignore, README). Never overwrites: in an
 * existing project it creates only the missing files and adds only the missing package.json
 * fields, and reports both.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { idflowPackage } from "../package-info.ts";
import { decoratorMode } from "./decorator-mode.ts";
import { GITIGNORE, packageFields, readme, taskModule, taskTest, tsconfigJson, workflowJson } from "./templates.ts";
import { emptyReport, writeNew, type ScaffoldReport } from "./write.ts";

export const INIT_TASK = "hello";
export const INIT_WORKFLOW = "hello_workflow";

export class ScaffoldError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "ScaffoldError";
  }
}

/** An npm package name from a folder name ("My Service" -> "my-service"). */
export function packageName(dir: string): string {
  const name = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[-]+$/g, "");
  return name || "idflow-project";
}

/** The version range to depend on: "^<version>" of the running idflow. */
function ranges() {
  const me = idflowPackage();
  return {
    idflow: `^${me.version}`,
    tsx: me.dependencies.tsx ?? "^4",
    typescript: me.devDependencies.typescript ?? "^5.9",
    typesNode: me.devDependencies["@types/node"] ?? "^20",
  };
}

/** Add `fields` missing from package.json (top-level keys, and keys inside objects), never changing a value. */
function mergePackageJson(root: string, fields: ReturnType<typeof packageFields>, report: ScaffoldReport): { hasType: boolean } {
  const file = path.join(root, "package.json");
  const text = readFileSync(file, "utf8");
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ScaffoldError(`${file} is not valid JSON (${(err as Error).message}): fix it, then run idflow init again`);
  }
  const deps = { ...(pkg.dependencies as object), ...(pkg.devDependencies as object) } as Record<string, unknown>;
  const hasType = pkg.type !== undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (key === "type" || key === "name" || key === "version" || key === "private") continue; // an existing project chose these
    if (key === "workspaces") {
      const ws = pkg.workspaces;
      if (ws === undefined) {
        pkg.workspaces = value;
        report.added.push("package.json: workspaces");
      } else if (Array.isArray(ws) && !ws.includes("tasks/*")) {
        ws.push("tasks/*");
        report.added.push('package.json: workspaces "tasks/*"');
      }
      continue;
    }
    const current = (pkg[key] ?? {}) as Record<string, unknown>;
    if (typeof current !== "object" || Array.isArray(current)) continue;
    for (const [k, v] of Object.entries(value as Record<string, string>)) {
      if (key !== "scripts" && k in deps) continue; // already a dependency of either kind
      if (k in current) continue;
      current[k] = v;
      report.added.push(`package.json: ${key}.${k}`);
    }
    pkg[key] = current;
  }
  if (report.added.length) writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  return { hasType };
}

export interface InitResult extends ScaffoldReport {
  root: string;
  /** Set when package.json has no "type": tasks then load as CommonJS. */
  note?: string;
}

/** Scaffold (or complete) the project in `dir`. */
export function initProject(dir: string): InitResult {
  const root = path.resolve(dir);
  if (existsSync(root) && !statSync(root).isDirectory()) throw new ScaffoldError(`${root} is a file, not a folder: name a folder for the project`);
  mkdirSync(root, { recursive: true });
  const report = emptyReport();
  const name = packageName(root);
  const fields = packageFields(name, ranges());
  let note: string | undefined;
  if (existsSync(path.join(root, "package.json"))) {
    report.kept.push("package.json");
    const { hasType } = mergePackageJson(root, fields, report);
    if (!hasType) note = 'package.json has no "type": task files load as CommonJS. Add "type": "module" to load them as ES modules, as new projects do.';
  } else {
    writeNew(root, "package.json", `${JSON.stringify(fields, null, 2)}\n`, report);
  }
  writeNew(root, "tsconfig.json", tsconfigJson(), report);
  const mode = decoratorMode(root).mode;
  // The example task only when the project has no task folder of that name.
  writeNew(root, `tasks/${INIT_TASK}/${INIT_TASK}.ts`, taskModule(INIT_TASK, { asClass: false, mode }), report);
  writeNew(root, `tasks/${INIT_TASK}/${INIT_TASK}.test.ts`, taskTest(INIT_TASK, { asClass: false }), report);
  writeNew(root, `workflows/${INIT_WORKFLOW}/${INIT_WORKFLOW}.json`, workflowJson(INIT_WORKFLOW, INIT_TASK), report);
  writeNew(root, ".gitignore", GITIGNORE, report);
  writeNew(root, "README.md", readme(name, INIT_TASK, INIT_WORKFLOW), report);
  return { root, ...report, ...(note ? { note } : {}) };
}
