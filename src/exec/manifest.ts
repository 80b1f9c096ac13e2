/**
 * Executable task folders: `tasks/<name>/task.json` declares a worker that is a program
 * instead of a TypeScript module:
 *   { "name": "word_count", "command": "python3", "args": ["word_count.py"], "mode": "lines",
 *     "retryCount": 2, "concurrency": 4, ... }
 * `command` is a name on PATH or a path relative to the folder; `args` are passed as they are,
 * and the program runs in the folder. Every other key is a `workerTask` option, checked by the
 * same rules. Each problem names the file, line, JSON pointer and the fix.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { OPTION_RULES, validateOptions } from "../task/validate-options.ts";
import type { WorkerTaskOptions } from "../task/options.ts";
import { formatIssue, type Issue } from "../workflows/issues.ts";
import { locate, parseJsonSource, type JsonSource } from "../workflows/source.ts";
import { resolveCommand } from "./command.ts";
import { EXEC_DEFAULTS, EXEC_MODES, type ExecSpec } from "./spec.ts";

export const MANIFEST_FILE = "task.json";
/** The keys that describe the program; every other key is a workerTask option. */
export const EXEC_KEYS = ["command", "args", "mode"] as const;

export interface ExecManifest {
  /** The task.json (absolute). */
  file: string;
  /** The options as written (validated; not yet merged with CONDUCTOR_WORKER_*). */
  options: WorkerTaskOptions;
  spec: ExecSpec;
}

export type ManifestResult = { ok: true; manifest: ExecManifest } | { ok: false; problems: string[] };

/** Read and check `<folder>/task.json`. Problems are formatted lines naming file, place and fix. */
export function loadManifest(file: string, root: string): ManifestResult {
  const rel = path.relative(root, file).split(path.sep).join("/") || file;
  const folder = path.dirname(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return { ok: false, problems: [`${rel}: cannot read: ${(err as Error).message}`] };
  }
  const { source, issues } = parseJsonSource(rel, file, text);
  if (issues.length)
    return { ok: false, problems: issues.map((i) => formatIssue({ ...i, hint: "task.json is strict JSON: no comments, no trailing commas" })) };
  const at = (pointer: string, message: string, hint: string): string => formatIssue(issue(source, pointer, message, hint));
  const value = source.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      problems: [at("", "task.json must hold one JSON object", `write { "name": "${path.basename(folder)}", "command": "python3", "args": ["main.py"] }`)],
    };
  }
  const m = value as Record<string, unknown>;
  const problems: string[] = [];

  const command = m.command;
  let resolvedCommand: string | undefined;
  if (typeof command !== "string" || command.trim() === "") {
    problems.push(
      command === undefined
        ? at(
            "",
            `"command" is missing: the program to run for each task`,
            `add "command": "python3" (a name on PATH, or a path relative to ${path.relative(root, folder) || "."}), and its arguments as "args"`,
          )
        : at(
            "/command",
            `"command" must be a non-empty string, got ${JSON.stringify(command)}`,
            `put the program in "command" and its arguments in "args": ["..."] (no shell: it is not split on spaces)`,
          ),
    );
  } else if (/\s/.test(command.trim()) && !command.includes("/")) {
    problems.push(
      at(
        "/command",
        `"command" ${JSON.stringify(command)} holds spaces: it is one program, not a shell line`,
        `write "command": ${JSON.stringify(command.trim().split(/\s+/)[0])}, "args": ${JSON.stringify(command.trim().split(/\s+/).slice(1))}`,
      ),
    );
  } else {
    const r = resolveCommand(command, folder);
    if (r.ok) resolvedCommand = command.includes("/") ? r.path : command;
    else problems.push(at("/command", r.problem, r.fix));
  }
  const args = m.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    problems.push(at("/args", `"args" must be an array of strings, got ${JSON.stringify(args)}`, `write "args": ["main.py", "--flag"]`));
  }
  const mode = m.mode ?? EXEC_DEFAULTS.mode;
  if (typeof mode !== "string" || !(EXEC_MODES as string[]).includes(mode)) {
    problems.push(
      at(
        "/mode",
        `"mode" must be one of ${EXEC_MODES.map((x) => JSON.stringify(x)).join(", ")}, got ${JSON.stringify(mode)}`,
        `"process" runs the program once per task; "lines" keeps it running and sends one JSON line per task`,
      ),
    );
  }
  if (m.isolation !== undefined) {
    problems.push(at("/isolation", `"isolation" does not apply to an executable task: each program already runs in its own process`, `remove "isolation"`));
  }

  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (!(EXEC_KEYS as readonly string[]).includes(k) && k !== "isolation") options[k] = v;
  if (options.name === undefined) {
    problems.push(at("", `"name" is missing: the Conductor task type this program serves`, `add "name": "${path.basename(folder)}"`));
  } else {
    for (const p of validateOptions(options)) {
      const key = keyOf(p, Object.keys(options));
      problems.push(at(key ? `/${key}` : "", p, hintFor(p)));
    }
  }
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    manifest: {
      file,
      options: options as unknown as WorkerTaskOptions,
      spec: {
        command: resolvedCommand!,
        args: args as string[],
        cwd: folder,
        mode: mode as ExecSpec["mode"],
        killGraceMs: EXEC_DEFAULTS.killGraceMs,
        maxOutputBytes: EXEC_DEFAULTS.maxOutputBytes,
      },
    },
  };
}

function issue(source: JsonSource, pointer: string, message: string, hint: string): Issue {
  const pos = locate(source, pointer);
  return { severity: "error", rule: "task-manifest", file: source.file, pointer, line: pos?.line, column: pos?.column, message, hint };
}

/** The option a validateOptions phrase is about ("retryCount must be…", `unknown option "x"`). */
function keyOf(problem: string, keys: string[]): string | undefined {
  const unknown = /^unknown option "([^"]+)"/.exec(problem);
  if (unknown) return unknown[1];
  return keys.find((k) => problem.startsWith(`${k} `));
}

function hintFor(problem: string): string {
  if (problem.startsWith("unknown option")) {
    const known = [...EXEC_KEYS, ...Object.keys(OPTION_RULES).filter((k) => k !== "isolation")];
    return `remove it, or use one of: ${known.join(", ")}`;
  }
  return "change the value as the message says (the same rules as workerTask options)";
}
