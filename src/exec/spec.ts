/** What an exec worker runs, declared once with its defaults (`worker exec` flags and `task.json` both end here). */

/** "process": one process per task (task JSON on stdin, result JSON on stdout). "lines": one long-lived process per slot, JSON lines both ways. */
export type ExecMode = "process" | "lines";
export const EXEC_MODES: ExecMode[] = ["process", "lines"];

export interface ExecSpec {
  /** The program: an absolute path, or a name looked up on PATH. Never run through a shell. */
  command: string;
  /** Its arguments, passed as they are (argv). */
  args: string[];
  /** The working directory (a task folder's own folder; the current directory for `worker exec`). */
  cwd: string;
  mode: ExecMode;
  /** Between SIGTERM and SIGKILL when a program is stopped (timeout, shutdown, garbage), in ms. */
  killGraceMs: number;
  /** Most bytes read from a program's stdout for one task (one line in "lines" mode). */
  maxOutputBytes: number;
}

export const EXEC_DEFAULTS = {
  mode: "process" as ExecMode,
  killGraceMs: 5000,
  maxOutputBytes: 64 * 1024 * 1024,
} as const;

/** How the command is shown in messages: `python3 worker.py`. */
export function describeCommand(spec: Pick<ExecSpec, "command" | "args">): string {
  return [spec.command, ...spec.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}

/**
 * The environment a program gets: idflow's own, without the Conductor credentials (a program
 * has no need for them, and one that prints its environment must not leak them into task
 * logs), plus the task's variables of the Orkes CLI contract.
 */
export function programEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CONDUCTOR_AUTH_KEY;
  delete env.CONDUCTOR_AUTH_SECRET;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined || v === "") delete env[k];
    else env[k] = v;
  }
  return env;
}
