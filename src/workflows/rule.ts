/**
 * What a validation rule is: a small named check with its id, its severity, the server versions
 * it applies to, and its fix. Rules are listed in one table (rules/index.ts); the engine
 * (validate.ts) runs every rule whose versions include the target on every workflow.
 */
import type { Severity } from "./issues.ts";
import type { Path, TaskNode, WorkflowModel } from "./model.ts";
import type { VersionRange } from "./target.ts";

export type Report = (path: Path, message: string, fix?: string) => void;

export interface Rule {
  /** Stable id shown with each issue ("unknown-ref"). */
  id: string;
  severity: Severity;
  /** One line: what the rule checks and why (for docs and `--explain`). */
  description: string;
  /** Server versions the rule applies to; left out: every version. */
  versions?: VersionRange;
  /** The default fix, when the report does not give a more precise one. */
  fix?: string;
  /** Task rules: only tasks of these types (left out: every task). */
  types?: readonly string[];
  /** Task rules: skip tasks the server does not validate at registration (inside DO_WHILE loopOver). */
  registrationOnly?: boolean;
  /** Called for every task (nested ones included) the rule applies to. */
  task?(node: TaskNode, report: Report, model: WorkflowModel): void;
  /** Called once per workflow. */
  workflow?(model: WorkflowModel, report: Report): void;
}
