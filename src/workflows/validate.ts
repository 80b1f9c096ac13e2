/**
 * Workflow validation: run the rule table (rules/index.ts) on every workflow for one target
 * Conductor version. A rule applies when its versions include the target; a task rule runs on
 * every task of its types (registration-only rules skip DO_WHILE bodies, which the server does
 * not validate). Every problem is reported, not just the first; errors and warnings apart.
 */
import type { LoadedWorkflow } from "./load.ts";
import { issueAt } from "./load.ts";
import { sortIssues, toPointer, type Issue } from "./issues.ts";
import { buildModel, type TaskNode, type WorkflowModel } from "./model.ts";
import { EMPTY_PROJECT_CONFIG, type ProjectConfig } from "./project-config.ts";
import type { Report, Rule } from "./rule.ts";
import { RULES } from "./rules/index.ts";
import { describeRange, FALLBACK_VERSION, inRange, type ConductorTarget } from "./target.ts";

export interface ValidationContext {
  /** Task names the project's workers serve (discovered registrations). */
  knownTasks: Iterable<string>;
  /** externalTasks / externalWorkflows from idflow.config.json. */
  config?: ProjectConfig;
  /** The Conductor the workflows are meant for; default: the oldest idflow runs locally. */
  target?: ConductorTarget;
  /** The rules to run (default: the whole table). */
  rules?: readonly Rule[];
}

export const DEFAULT_TARGET: ConductorTarget = { version: FALLBACK_VERSION, source: "local-pin", reason: "no version given" };

/** Validate every workflow; issues sorted by file and position. */
export function validateWorkflows(workflows: LoadedWorkflow[], ctx: ValidationContext): Issue[] {
  const target = ctx.target ?? DEFAULT_TARGET;
  const rules = (ctx.rules ?? RULES).filter((r) => inRange(target.version, r.versions));
  const inputs = {
    knownTasks: new Set(ctx.knownTasks),
    config: ctx.config ?? EMPTY_PROJECT_CONFIG,
    projectWorkflows: new Set(workflows.flatMap((w) => (typeof w.def?.name === "string" ? [w.def.name] : []))),
    target,
  };
  const issues: Issue[] = [];
  const seen = new Map<string, LoadedWorkflow>();
  for (const wf of workflows) {
    issues.push(...runRules(buildModel(wf, inputs), rules));
    const key = `${String(wf.def?.name)}@${String(wf.def?.version ?? 1)}`;
    const first = seen.get(key);
    if (first && typeof wf.def?.name === "string") {
      issues.push(
        issueAt(
          wf.source,
          "/name",
          "error",
          "duplicate-workflow",
          `workflow "${wf.def.name}" version ${wf.def.version ?? 1} is also defined in ${first.source.file}`,
          "rename one of them or give it another version",
        ),
      );
    } else seen.set(key, wf);
  }
  return sortIssues(issues);
}

function runRules(model: WorkflowModel, rules: readonly Rule[]): Issue[] {
  const issues: Issue[] = [];
  for (const rule of rules) {
    const report: Report = (path, message, fix) => {
      const versions = rule.versions ? ` [rule for ${describeRange(rule.versions)}; validated for ${model.target.version}]` : "";
      issues.push(issueAt(model.wf.source, toPointer(path), rule.severity, rule.id, message + versions, fix ?? rule.fix));
    };
    rule.workflow?.(model, report);
    if (rule.task) for (const node of model.tasks) if (applies(rule, node)) rule.task(node, report, model);
  }
  return issues;
}

function applies(rule: Rule, node: TaskNode): boolean {
  if (rule.types && !rule.types.includes(node.type)) return false;
  return !(rule.registrationOnly && node.inLoop);
}
