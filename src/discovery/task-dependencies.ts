/**
 * Per-task dependencies: a task folder may carry its own package.json (an npm workspace of the
 * project: `"workspaces": ["tasks/*"]` in the root package.json, one `npm install` at the root).
 * Before a folder is imported, each of its dependencies must be found the way Node finds it
 * (a node_modules folder at or above the task folder), or the folder is reported, not loaded.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** A task folder's own dependencies that are not installed, or why its package.json is unreadable. */
export interface DependencyProblem {
  file: string;
  message: string;
}

/** Whether `name` resolves from `folder` (a node_modules/<name> at or above it). */
export function isInstalled(name: string, folder: string): boolean {
  for (let dir = path.resolve(folder); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "node_modules", name, "package.json"))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

/** Whether the root package.json lists the task folder (by name or a `tasks/*` pattern) as a workspace. */
function isWorkspace(root: string, folder: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { workspaces?: unknown };
    const list = Array.isArray(pkg.workspaces) ? pkg.workspaces : ((pkg.workspaces as { packages?: unknown } | undefined)?.packages ?? []);
    const rel = path.relative(root, folder).split(path.sep).join("/");
    return (Array.isArray(list) ? list : []).some((w) => typeof w === "string" && (w.replace(/\/+$/, "") === rel || w === "tasks/*"));
  } catch {
    return false;
  }
}

/** The problem with a task folder's own dependencies, if it has a package.json and any is missing. */
export function checkTaskDependencies(root: string, folder: string): DependencyProblem | undefined {
  const file = path.join(folder, "package.json");
  if (!existsSync(file)) return undefined;
  const rel = path.relative(root, file) || file;
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    return { file, message: `${rel} is not valid JSON (${(err as Error).message}): fix it, or delete it if the task needs no dependencies of its own` };
  }
  const deps = pkg.dependencies && typeof pkg.dependencies === "object" ? Object.keys(pkg.dependencies) : [];
  const missing = deps.filter((name) => !isInstalled(name, folder));
  if (missing.length === 0) return undefined;
  const fix = isWorkspace(root, folder)
    ? "run `npm install` at the project root"
    : 'add "workspaces": ["tasks/*"] to the project\'s package.json, then run `npm install` at the project root';
  return { file, message: `${rel}: dependencies not installed: ${missing.join(", ")}: ${fix}` };
}
