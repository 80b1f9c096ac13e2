/**
 * Upload: task definitions, then workflow definitions, with Conductor's upsert endpoints only
 * (never delete-then-create: a refused upload never loses what the server had).
 *
 * Order and guarantees:
 *  1. every workflow is validated locally first (errors: WorkflowValidationError, nothing written);
 *  2. each definition is read back from the server and compared (created / updated / unchanged);
 *     unchanged ones are not written; --dry-run stops here;
 *  3. changed task definitions go in one POST /metadata/taskdefs (an upsert on Conductor 3.21:
 *     the list is validated as a whole before anything is stored);
 *  4. changed workflows go in one PUT /metadata/workflow (upsert; Conductor validates the whole
 *     list before storing any, so a refusal leaves every workflow as it was).
 * A refusal (step 3 or 4) is an UploadRefusedError carrying the server's validation messages
 * and what had been written before it.
 */
import type { ConductorClient } from "../conductor/client.ts";
import { projectPaths } from "../config.ts";
import { ConductorError, describeValidationErrors } from "../conductor/errors.ts";
import type { TaskDef, WorkflowDef } from "../conductor/types.ts";
import { toTaskDef } from "../discovery/task-def.ts";
import type { Registration } from "../task/registration.ts";
import { WorkflowValidationError } from "../workflows/check.ts";
import { errorsOf, sortIssues, warningsOf, type Issue } from "../workflows/issues.ts";
import { loadWorkflows, type LoadedWorkflow } from "../workflows/load.ts";
import { EMPTY_PROJECT_CONFIG, loadProjectConfig, type ProjectConfig } from "../workflows/project-config.ts";
import { resolveTarget, type ConductorTarget } from "../workflows/target.ts";
import { validateWorkflows } from "../workflows/validate.ts";
import { sameDefinition } from "./compare.ts";

export type UploadAction = "created" | "updated" | "unchanged";

export interface UploadEntry {
  kind: "task" | "workflow";
  name: string;
  version?: number;
  action: UploadAction;
  /** The workflow's file, relative to the project root. */
  file?: string;
}

export interface UploadReport {
  /** True when nothing was written (the actions say what would happen). */
  dryRun: boolean;
  entries: UploadEntry[];
  /** Validation warnings (they do not stop an upload). */
  warnings: Issue[];
  /** The Conductor version the workflows were validated for (none with tasksOnly). */
  target?: ConductorTarget;
}

export interface UploadInput {
  /** Discovered workers: their task definitions are uploaded. */
  registrations: Registration[];
  /** Workflows to upload (validated first). Left out: loaded from `root` (unless tasksOnly). */
  workflows?: LoadedWorkflow[];
  /** Project root: where workflows/ and idflow.config.json are read when not given. */
  root?: string;
  /** idflow.config.json contents; default: read from root (or the workflows' root). */
  config?: ProjectConfig;
  tasksOnly?: boolean;
  workflowsOnly?: boolean;
  dryRun?: boolean;
  /** Only these workflows (by name), and only the task definitions they use. */
  workflowFilter?: string[];
  /** The Conductor to validate for; default: the server's own version (else the project's setting, else the local server's). */
  target?: ConductorTarget;
}

/** A usage mistake (conflicting flags, unknown workflow name). Exit code 2. */
export class UploadUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UploadUsageError";
  }
}

/** Conductor refused a definition. Exit code 1. `written` lists what was stored before. */
export class UploadRefusedError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly written: UploadEntry[],
    readonly planned: UploadEntry[],
    readonly cause?: ConductorError,
  ) {
    super(message);
    this.name = "UploadRefusedError";
  }
}

export async function upload(client: ConductorClient, input: UploadInput): Promise<UploadReport> {
  if (input.tasksOnly && input.workflowsOnly)
    throw new UploadUsageError("--tasks-only and --workflows-only exclude each other: give one of them, or neither to upload both");
  const root = input.root ?? input.workflows?.[0]?.root;
  let config = input.config;
  const issues: Issue[] = [];
  if (!config) {
    if (root) {
      const loaded = await loadProjectConfig(root);
      config = loaded.config;
      issues.push(...loaded.issues);
    } else config = EMPTY_PROJECT_CONFIG;
  }

  // 1. Validate every workflow, for the server's own version, before anything is written.
  let versionUsed: ConductorTarget | undefined;
  let workflows: LoadedWorkflow[] = [];
  if (!input.tasksOnly) {
    const target =
      input.target ?? (await resolveTarget({ client, configVersion: config.conductorVersion, stateDir: root ? projectPaths({ root }).stateDir : undefined }));
    versionUsed = target;
    if (input.workflows) workflows = input.workflows;
    else if (root) {
      const loaded = await loadWorkflows(root);
      workflows = loaded.workflows;
      issues.push(...loaded.errors);
    }
    issues.push(...validateWorkflows(workflows, { knownTasks: input.registrations.map((r) => r.name), config, target }));
  }
  if (errorsOf(issues).length) throw new WorkflowValidationError(sortIssues(issues));

  // What to send.
  let selected = workflows;
  if (input.workflowFilter?.length) {
    const names = new Set(workflows.map((w) => w.def.name));
    const missing = input.workflowFilter.filter((n) => !names.has(n));
    if (missing.length) {
      throw new UploadUsageError(
        `no workflow named ${missing.map((m) => `"${m}"`).join(", ")} in this project${names.size ? `: it has ${[...names].sort().join(", ")}` : " (workflows/ holds none)"}`,
      );
    }
    selected = workflows.filter((w) => input.workflowFilter!.includes(w.def.name));
  }
  const taskDefs: TaskDef[] = [];
  if (!input.workflowsOnly) {
    const wanted = input.workflowFilter?.length ? simpleTaskNames(selected) : undefined;
    const seen = new Set<string>();
    for (const reg of input.registrations) {
      if (seen.has(reg.name) || (wanted && !wanted.has(reg.name))) continue;
      seen.add(reg.name);
      taskDefs.push(withOwner(toTaskDef(reg), config.ownerEmail));
    }
  }
  const workflowDefs = input.tasksOnly ? [] : selected.map((w) => ({ def: withOwner(structuredClone(w.def), config!.ownerEmail), file: w.source.file }));

  // 2. Compare with the server.
  const taskPlan = await Promise.all(taskDefs.map(async (def) => ({ def, action: actionFor(def, await client.getTaskDef(def.name), "taskDef") })));
  const wfPlan = await Promise.all(
    workflowDefs.map(async ({ def, file }) => ({ def, file, action: actionFor(def, await client.getWorkflowDef(def.name, def.version ?? 1), "workflowDef") })),
  );
  const taskEntries: UploadEntry[] = taskPlan.map((p) => ({ kind: "task", name: p.def.name, action: p.action }));
  const wfEntries: UploadEntry[] = wfPlan.map((p) => ({ kind: "workflow", name: p.def.name, version: p.def.version ?? 1, action: p.action, file: p.file }));
  const planned = [...taskEntries, ...wfEntries];
  const report: UploadReport = { dryRun: !!input.dryRun, entries: planned, warnings: warningsOf(sortIssues(issues)), target: versionUsed };
  if (input.dryRun) return report;

  // 3. Task definitions (one upsert call).
  const taskWrites = taskPlan.filter((p) => p.action !== "unchanged").map((p) => p.def);
  if (taskWrites.length) {
    try {
      await client.registerTaskDefs(taskWrites);
    } catch (err) {
      throw refused(err, "task definitions", [], planned);
    }
  }
  // 4. Workflow definitions (one upsert call, validated as a whole by the server).
  const wfWrites = wfPlan.filter((p) => p.action !== "unchanged").map((p) => p.def);
  if (wfWrites.length) {
    const writtenTasks = taskEntries.filter((e) => e.action !== "unchanged");
    try {
      const res = await client.upsertWorkflowDefs(wfWrites);
      const failed = Object.entries(res.bulkErrorResults ?? {});
      if (failed.length) {
        const ok = new Set(res.bulkSuccessfulResults ?? []);
        throw new UploadRefusedError(
          `Conductor refused ${failed.length} workflow definition(s):\n${failed.map(([n, m]) => `  - ${n}: ${m}`).join("\n")}`,
          [...writtenTasks, ...wfEntries.filter((e) => e.action !== "unchanged" && ok.has(e.name))],
          planned,
        );
      }
    } catch (err) {
      if (err instanceof UploadRefusedError) throw err;
      throw refused(err, "workflow definitions", writtenTasks, planned);
    }
  }
  return report;
}

function actionFor(ours: object, theirs: object | undefined, kind: "taskDef" | "workflowDef"): UploadAction {
  if (!theirs) return "created";
  return sameDefinition(ours, theirs, kind) ? "unchanged" : "updated";
}

function refused(err: unknown, what: string, written: UploadEntry[], planned: UploadEntry[]): Error {
  if (!(err instanceof ConductorError) || err.status === undefined || err.status >= 500) return err as Error;
  const details = err.validationErrors.length ? `\n${describeValidationErrors(err.validationErrors)}` : err.serverMessage ? `\n  ${err.serverMessage}` : "";
  const before = written.length
    ? `\n(already stored before the refusal, as upserts: ${written.map((e) => `${e.kind} ${e.name}`).join(", ")})`
    : "\nNothing was stored.";
  return new UploadRefusedError(`Conductor refused the ${what} (${err.status}):${details}${before}`, written, planned, err);
}

/** The definition as idflow sends it: `ownerEmail` from idflow.config.json filled in when it has none. */
export function withOwner<T extends TaskDef | WorkflowDef>(def: T, ownerEmail: string | undefined): T {
  if (ownerEmail && !def.ownerEmail) return { ...def, ownerEmail };
  return def;
}

/** SIMPLE task names used anywhere in these workflows (nested lists included). */
export function simpleTaskNames(workflows: LoadedWorkflow[]): Set<string> {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (typeof v !== "object" || v === null) return;
    const t = v as Record<string, unknown>;
    if (typeof t.name === "string" && typeof t.taskReferenceName === "string" && (t.type ?? "SIMPLE") === "SIMPLE") names.add(t.name);
    for (const k of ["forkTasks", "loopOver", "defaultCase"]) walk(t[k]);
    if (t.decisionCases && typeof t.decisionCases === "object") Object.values(t.decisionCases).forEach(walk);
  };
  for (const w of workflows) walk(w.def.tasks);
  return names;
}
