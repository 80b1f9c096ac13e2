/**
 * Loading workflow definitions: `workflows/*\/*.json` under the project root, each parsed with
 * source positions so that every later message can point back at file, line and JSON pointer.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import fg from "fast-glob";
import type { WorkflowDef } from "../conductor/types.ts";
import { locate, parseJsonSource, type JsonSource } from "./source.ts";
import type { Issue, Severity } from "./issues.ts";

/** One workflow definition as found in the project. */
export interface LoadedWorkflow {
  /** The definition as written (a JSON object; not yet validated). */
  def: WorkflowDef;
  /** The file it came from, with positions. */
  source: JsonSource;
  /** The project root it was loaded from (absolute). */
  root: string;
}

export interface WorkflowLoadResult {
  root: string;
  workflows: LoadedWorkflow[];
  /** JSON syntax errors and files that are not a JSON object. */
  errors: Issue[];
}

/** The glob, relative to the project root. */
export const WORKFLOW_GLOB = "workflows/*/*.json";

export async function loadWorkflows(root: string): Promise<WorkflowLoadResult> {
  const absRoot = path.resolve(root);
  const files = (await fg(WORKFLOW_GLOB, { cwd: absRoot, onlyFiles: true, dot: false })).sort();
  const workflows: LoadedWorkflow[] = [];
  const errors: Issue[] = [];
  for (const rel of files) {
    const abs = path.join(absRoot, rel);
    const text = await readFile(abs, "utf8");
    const { source, issues } = parseJsonSource(rel, abs, text);
    if (issues.length) {
      errors.push(...issues);
      continue;
    }
    if (typeof source.value !== "object" || source.value === null || Array.isArray(source.value)) {
      errors.push(
        issueAt(
          source,
          "",
          "error",
          "not-an-object",
          "a workflow file holds one JSON object (a Conductor workflow definition)",
          'write the definition as { "name": ..., "version": 1, "tasks": [...] }',
        ),
      );
      continue;
    }
    workflows.push({ def: source.value as WorkflowDef, source, root: absRoot });
  }
  return { root: absRoot, workflows, errors };
}

/** An issue at a JSON pointer of a source, with its line and column filled in. */
export function issueAt(source: JsonSource, pointer: string, severity: Severity, rule: string, message: string, hint?: string): Issue {
  const pos = locate(source, pointer);
  return { severity, rule, file: source.file, pointer, line: pos?.line, column: pos?.column, message, ...(hint ? { hint } : {}) };
}
