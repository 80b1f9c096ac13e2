/** Writing scaffold files without ever overwriting one: each file is created or reported as kept. */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";

export interface ScaffoldReport {
  /** Files created (relative to the project root). */
  created: string[];
  /** Files that were already there and left untouched. */
  kept: string[];
  /** Fields added to an existing file, as "package.json: scripts.start". */
  added: string[];
}

export const emptyReport = (): ScaffoldReport => ({ created: [], kept: [], added: [] });

/** Create `rel` under `root` with `content` unless it exists (exclusive create: never a race, never an overwrite). */
export function writeNew(root: string, rel: string, content: string, report: ScaffoldReport): void {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  let fd: number;
  try {
    fd = openSync(file, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      report.kept.push(rel);
      return;
    }
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  report.created.push(rel);
}
