/**
 * Finding the program before anything runs, so that a typo or a missing interpreter is said
 * once, at start-up or in `worker list`, rather than as a FAILED reason on every task. A command
 * with a path separator is a file relative to `cwd` (a task folder); a bare name is looked up on
 * PATH (with `which`, the lookup npm itself uses).
 */
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import which from "which";

export type Resolved = { ok: true; path: string } | { ok: false; problem: string; fix: string };

export function resolveCommand(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): Resolved {
  if (command.includes("/") || command.includes(path.sep)) {
    const abs = path.resolve(cwd, command);
    let isFile = false;
    try {
      isFile = statSync(abs).isFile();
    } catch {
      return { ok: false, problem: `${command} does not exist (looked for ${abs})`, fix: `check the path; it is relative to ${cwd}` };
    }
    if (!isFile) return { ok: false, problem: `${command} is not a file (${abs})`, fix: "name the program file" };
    try {
      accessSync(abs, constants.X_OK);
    } catch {
      return {
        ok: false,
        problem: `${command} is not executable`,
        fix: `chmod +x ${abs} (and give it a #! line), or run it through its interpreter: "command": "python3", "args": ["${command}"]`,
      };
    }
    return { ok: true, path: abs };
  }
  const found = which.sync(command, { nothrow: true, path: env.PATH });
  if (!found) return { ok: false, problem: `${JSON.stringify(command)} is not on PATH`, fix: `install it, or give its full path` };
  return { ok: true, path: found };
}
