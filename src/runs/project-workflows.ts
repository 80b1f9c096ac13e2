/**
 * `workflow list`: the project's workflow definitions beside what the server holds — the
 * versions on each side and whether the server's copy of the project's version is the same
 * (compared as `worker upload` compares: src/upload/compare.ts).
 */
import type { ConductorClient } from "../conductor/client.ts";
import type { WorkflowDef } from "../conductor/types.ts";
import { sameDefinition } from "../upload/compare.ts";
import { withOwner } from "../upload/upload.ts";
import { formatIssue } from "../workflows/issues.ts";
import { loadWorkflows } from "../workflows/load.ts";
import { loadProjectConfig } from "../workflows/project-config.ts";

/** same: the server holds this version as written; differs: it holds another content; not-uploaded: not this version; server-only: no such workflow in the project. */
export type WorkflowState = "same" | "differs" | "not-uploaded" | "server-only";

export interface WorkflowListEntry {
  name: string;
  /** The project's version (absent for server-only ones). */
  localVersion?: number;
  /** The file it comes from, relative to the root. */
  file?: string;
  /** Versions the server holds, ascending. */
  serverVersions: number[];
  state: WorkflowState;
}

export interface WorkflowList {
  entries: WorkflowListEntry[];
  /** Files that could not be read as workflows (JSON errors), with the message. */
  errors: string[];
}

export async function listProjectWorkflows(client: ConductorClient, root: string, opts: { includeServerOnly?: boolean } = {}): Promise<WorkflowList> {
  const [loaded, config, server] = await Promise.all([loadWorkflows(root), loadProjectConfig(root), client.getWorkflowDefs()]);
  const byName = new Map<string, WorkflowDef[]>();
  for (const d of server) byName.set(d.name, [...(byName.get(d.name) ?? []), d]);
  const versions = (name: string) => (byName.get(name) ?? []).map((d) => d.version ?? 1).sort((a, b) => a - b);
  const entries: WorkflowListEntry[] = loaded.workflows.map((w) => {
    const version = w.def.version ?? 1;
    const theirs = (byName.get(w.def.name) ?? []).find((d) => (d.version ?? 1) === version);
    const state: WorkflowState = !theirs
      ? "not-uploaded"
      : sameDefinition(withOwner(w.def, config.config.ownerEmail), theirs, "workflowDef")
        ? "same"
        : "differs";
    return { name: w.def.name, localVersion: version, file: w.source.file, serverVersions: versions(w.def.name), state };
  });
  if (opts.includeServerOnly) {
    const local = new Set(loaded.workflows.map((w) => w.def.name));
    for (const name of [...byName.keys()].sort()) if (!local.has(name)) entries.push({ name, serverVersions: versions(name), state: "server-only" });
  }
  return { entries, errors: loaded.errors.map(formatIssue) };
}
