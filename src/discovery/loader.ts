/**
 * Importing task modules with tsx, under the TASK PROJECT's tsconfig (or none), so authors
 * never build. One tsx namespace (ESM loader + CommonJS hook) per tsconfig per process, reused
 * for every file: `tsImport` would register a fresh loader per call, and 300 chained loaders
 * make every later import slower.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { register as registerCjs } from "tsx/cjs/api";
import { register as registerEsm } from "tsx/esm/api";

export interface ModuleImporter {
  /** The loader scope (a module is evaluated once per scope). */
  scope: string;
  /** The tsconfig.json the task files compile with, or false (TC39 decorators). */
  tsconfig: string | false;
  /** Import an absolute file path; resolves to the module's exports. */
  load(file: string): Promise<Record<string, unknown>>;
}

/** The nearest tsconfig.json at or above `dir`, or false. */
export function findTsconfig(dir: string): string | false {
  let d = path.resolve(dir);
  for (;;) {
    const candidate = path.join(d, "tsconfig.json");
    if (existsSync(candidate)) return candidate;
    const up = path.dirname(d);
    if (up === d) return false;
    d = up;
  }
}

const importers = new Map<string, ModuleImporter>();

/** The importer for a tsconfig (created once per process). */
export function moduleImporter(tsconfig: string | false): ModuleImporter {
  const id = tsconfig === false ? "<none>" : path.resolve(tsconfig);
  let importer = importers.get(id);
  if (importer) return importer;
  const scope = `idflow-${createHash("sha1").update(id).digest("hex").slice(0, 10)}`;
  registerCjs({ namespace: scope });
  const esm = registerEsm({ namespace: scope, tsconfig: tsconfig === false ? false : path.resolve(tsconfig) });
  const parent = pathToFileURL(path.join(process.cwd(), "idflow-discovery.js")).href;
  importer = {
    scope,
    tsconfig,
    load: (file) => esm.import(pathToFileURL(file).href, parent) as Promise<Record<string, unknown>>,
  };
  importers.set(id, importer);
  return importer;
}
