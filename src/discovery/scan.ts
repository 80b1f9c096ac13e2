/**
 * Finding task folders: `tasks/*` under the project root, skipping folders whose name starts
 * with `_` or `.`. In each folder the task module is `<folder>.ts` or `index.ts` (also .mts,
 * .js, .mjs); every other file is a helper the module may import. `*.test.*` files are never
 * modules. A folder may instead hold a `task.json` manifest: an executable task (src/exec/).
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import fg from "fast-glob";
import { MANIFEST_FILE } from "../exec/manifest.ts";

/** Extensions a task module may have, in order of preference. */
export const MODULE_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"];

export interface TaskFolder {
  /** Absolute folder path. */
  folder: string;
  /** Folder name (also the preferred module name). */
  name: string;
  /** The module to import, when exactly one candidate exists. */
  module?: string;
  /** The executable task's manifest (`task.json`), when the folder holds one instead of a module. */
  manifest?: string;
  /** Why no module could be picked (none, or more than one). */
  problem?: string;
}

/** The task folders under `<root>/tasks`, sorted by name. */
export async function scanTaskFolders(root: string): Promise<TaskFolder[]> {
  const tasksDir = path.join(root, "tasks");
  const dirs = await fg("*", {
    cwd: tasksDir,
    onlyDirectories: true,
    deep: 1,
    dot: false,
    ignore: ["_*"],
    followSymbolicLinks: true,
    suppressErrors: true,
  });
  return dirs.sort().map((name) => pickModule(path.join(tasksDir, name), name, root));
}

function pickModule(folder: string, name: string, root: string): TaskFolder {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch (err) {
    return { folder, name, problem: `cannot read the folder: ${(err as Error).message}` };
  }
  const present = new Set(entries);
  const candidates: string[] = [];
  for (const base of [name, "index"]) {
    for (const ext of MODULE_EXTENSIONS) {
      const file = `${base}${ext}`;
      if (present.has(file) && !/\.test\./.test(file)) candidates.push(file);
    }
  }
  const rel = path.relative(root, folder) || folder;
  if (present.has(MANIFEST_FILE)) {
    if (candidates.length > 0) {
      return {
        folder,
        name,
        problem: `${rel} has both a task module (${candidates.join(", ")}) and a ${MANIFEST_FILE}: a folder holds one task kind; move the program and its ${MANIFEST_FILE} to a folder of its own`,
      };
    }
    return { folder, name, manifest: path.join(folder, MANIFEST_FILE) };
  }
  if (candidates.length === 0) {
    return {
      folder,
      name,
      problem: `${rel} has no task module: expected ${name}.ts or index.ts (also .mts, .js, .mjs), or a ${MANIFEST_FILE} for a program in another language. Add one, or rename the folder to _${name} to skip it`,
    };
  }
  if (candidates.length > 1) {
    return {
      folder,
      name,
      problem: `${rel} has more than one task module (${candidates.join(", ")}): keep one of them, or move the others' code into helpers they import`,
    };
  }
  return { folder, name, module: path.join(folder, candidates[0]) };
}
