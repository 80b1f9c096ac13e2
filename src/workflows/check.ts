/**
 * The whole project check that `idflow workflow validate` and `idflow worker upload` share:
 * discover the workers, read idflow.config.json, load every workflow, validate them all.
 */
import path from "node:path";
import type { ConductorClient } from "../conductor/client.ts";
import { projectPaths } from "../config.ts";
import { discover } from "../discovery/discover.ts";
import type { LoadError, Registration } from "../task/registration.ts";
import { errorsOf, formatIssue, sortIssues, warningsOf, type Issue } from "./issues.ts";
import { loadWorkflows, type LoadedWorkflow } from "./load.ts";
import { loadProjectConfig, type ProjectConfig } from "./project-config.ts";
import { resolveTarget, type ConductorTarget } from "./target.ts";
import { validateWorkflows } from "./validate.ts";

export interface ProjectCheck {
  root: string;
  registrations: Registration[];
  config: ProjectConfig;
  workflows: LoadedWorkflow[];
  /** The Conductor version validated for, and why that one. */
  target: ConductorTarget;
  /** Everything found: task load errors, config problems, JSON errors, validation; sorted. */
  issues: Issue[];
}

export interface CheckOptions {
  root: string;
  env?: NodeJS.ProcessEnv;
  registrations?: Registration[];
  /** Validate for this version (`--conductor-version`). */
  conductorVersion?: string;
  /** A server to ask for its version (asked briefly; no answer falls back to the project setting). */
  client?: ConductorClient;
  /** How long to wait for the server's version. */
  serverTimeoutMs?: number;
  /** idflow's state folder, where the local server's state file says which version it runs. */
  stateDir?: string;
}

export async function checkProject(opts: CheckOptions): Promise<ProjectCheck> {
  const root = path.resolve(opts.root);
  const issues: Issue[] = [];
  let registrations = opts.registrations;
  if (!registrations) {
    const found = await discover({ root, env: opts.env });
    registrations = found.registrations;
    issues.push(...found.errors.map((e) => loadErrorIssue(root, e)));
  }
  const { config, issues: configIssues } = await loadProjectConfig(root);
  const loaded = await loadWorkflows(root);
  issues.push(...configIssues, ...loaded.errors);
  const target = await resolveTarget({
    explicit: opts.conductorVersion,
    client: opts.client,
    serverTimeoutMs: opts.serverTimeoutMs,
    configVersion: config.conductorVersion,
    stateDir: opts.stateDir ?? projectPaths({ root }, opts.env).stateDir,
    env: opts.env,
  });
  issues.push(...validateWorkflows(loaded.workflows, { knownTasks: registrations.map((r) => r.name), config, target }));
  return { root, registrations, config, workflows: loaded.workflows, target, issues: sortIssues(issues) };
}

/** A task folder that failed to load, as an issue (its SIMPLE tasks would look unknown otherwise). */
export function loadErrorIssue(root: string, e: LoadError): Issue {
  const file = path
    .relative(root, e.file ?? e.folder)
    .split(path.sep)
    .join("/");
  return { severity: "error", rule: "task-load", file, pointer: "", message: e.message };
}

/** Thrown when validation finds errors: nothing was uploaded. Exit code 2. */
export class WorkflowValidationError extends Error {
  readonly exitCode = 2;
  constructor(readonly issues: Issue[]) {
    const errors = errorsOf(issues);
    super(
      `${errors.length} validation error${errors.length === 1 ? "" : "s"}; nothing was uploaded:\n${errors.map(formatIssue).join("\n")}` +
        (warningsOf(issues).length ? `\n(and ${warningsOf(issues).length} warning(s))` : ""),
    );
    this.name = "WorkflowValidationError";
  }
}
