/**
 * `idflow.config.json` at the project root: what the project relies on but does not define.
 *
 * {
 *   "externalTasks": ["send_email"],        // SIMPLE tasks served by workers elsewhere (other languages, other repos)
 *   "externalWorkflows": ["billing_flow"],  // workflows SUB_WORKFLOW may name that live elsewhere
 *   "ownerEmail": "team@example.com",       // filled into task and workflow definitions that have none
 *   "conductorVersion": "3.21.14"           // the Conductor to validate for when no server answers
 * }
 *
 * The file is optional; every key is optional.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { CONFIG_OPTIONS } from "../config.ts";
import { issueAt } from "./load.ts";
import { parseJsonSource } from "./source.ts";
import { VERSION_PATTERN } from "./target.ts";
import type { Issue } from "./issues.ts";

export const PROJECT_CONFIG_FILE = "idflow.config.json";

export interface ProjectConfig {
  /** Task names provided by workers outside this project: SIMPLE tasks may use them. */
  externalTasks: string[];
  /** Workflow names defined outside this project: SUB_WORKFLOW may name them. */
  externalWorkflows: string[];
  /** Owner e-mail written into definitions that lack one (servers with ownerEmailMandatory need it). */
  ownerEmail?: string;
  /** The Conductor version to validate for when no server answers (e.g. "3.21.14"). */
  conductorVersion?: string;
}

export const EMPTY_PROJECT_CONFIG: ProjectConfig = { externalTasks: [], externalWorkflows: [] };

/** Every key the file may hold is declared once, in src/config.ts (the rest of them configure the CLI and the runtime). */
const KNOWN_KEYS = new Set(["$schema", ...CONFIG_OPTIONS.filter((d) => !d.notInFile).map((d) => d.key)]);

export async function loadProjectConfig(root: string): Promise<{ config: ProjectConfig; issues: Issue[] }> {
  const abs = path.join(path.resolve(root), PROJECT_CONFIG_FILE);
  if (!existsSync(abs)) return { config: { ...EMPTY_PROJECT_CONFIG }, issues: [] };
  const { source, issues } = parseJsonSource(PROJECT_CONFIG_FILE, abs, await readFile(abs, "utf8"));
  const config: ProjectConfig = { externalTasks: [], externalWorkflows: [] };
  if (issues.length) return { config, issues };
  const v = source.value;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return {
      config,
      issues: [
        issueAt(
          source,
          "",
          "error",
          "config-shape",
          "idflow.config.json must hold a JSON object",
          'write e.g. { "externalTasks": [], "externalWorkflows": [] }',
        ),
      ],
    };
  }
  const obj = v as Record<string, unknown>;
  for (const key of ["externalTasks", "externalWorkflows"] as const) {
    const list = obj[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string" || !x)) {
      issues.push(
        issueAt(source, `/${key}`, "error", "config-shape", `"${key}" must be a list of names (strings)`, `write "${key}": ["name_one", "name_two"]`),
      );
    } else config[key] = list as string[];
  }
  if (obj.ownerEmail !== undefined) {
    if (typeof obj.ownerEmail !== "string" || !obj.ownerEmail.includes("@")) {
      issues.push(issueAt(source, "/ownerEmail", "error", "config-shape", '"ownerEmail" must be an e-mail address', 'write "ownerEmail": "team@example.com"'));
    } else config.ownerEmail = obj.ownerEmail;
  }
  if (obj.conductorVersion !== undefined) {
    if (typeof obj.conductorVersion !== "string" || !VERSION_PATTERN.test(obj.conductorVersion)) {
      issues.push(
        issueAt(
          source,
          "/conductorVersion",
          "error",
          "config-shape",
          '"conductorVersion" must be a Conductor version such as "3.21.14"',
          'write "conductorVersion": "3.21.14" (or leave it out: idflow asks the server, else uses the local server\'s version)',
        ),
      );
    } else config.conductorVersion = obj.conductorVersion;
  }
  for (const key of Object.keys(obj)) {
    if (!KNOWN_KEYS.has(key)) {
      issues.push(
        issueAt(
          source,
          `/${key}`,
          "error",
          "config-unknown-key",
          `unknown key "${key}" (known: ${[...KNOWN_KEYS].slice(1).join(", ")})`,
          "remove it or check its spelling",
        ),
      );
    }
  }
  return { config, issues };
}
