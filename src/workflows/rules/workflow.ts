/** Rules about the workflow document itself (WorkflowDef's own fields). */
import { isNonEmptyString, isObject } from "../model.ts";
import type { Rule } from "../rule.ts";

export const workflowName: Rule = {
  id: "workflow-name",
  severity: "error",
  description: "the workflow has a non-empty name (WorkflowDef.name is @NotEmpty)",
  fix: 'add "name": "my_workflow" (letters, digits and _)',
  workflow({ def }, report) {
    if (!isNonEmptyString(def.name)) report(["name"], def.name === undefined ? 'the workflow has no "name"' : '"name" must be a non-empty string');
  },
};

export const workflowVersion: Rule = {
  id: "workflow-version",
  severity: "error",
  description: '"version", when given, is a whole number (left out, the server stores version 1)',
  fix: 'write e.g. "version": 1, or leave it out for 1',
  workflow({ def }, report) {
    if (def.version !== undefined && (!Number.isInteger(def.version) || (def.version as number) < 0)) {
      report(["version"], `"version" must be a whole number, got ${JSON.stringify(def.version)}`);
    }
  },
};

export const schemaVersion: Rule = {
  id: "schema-version",
  severity: "error",
  description: '"schemaVersion", when given, is 2 (the server refuses any other)',
  fix: 'write "schemaVersion": 2 (Conductor accepts no other)',
  workflow({ def }, report) {
    if (def.schemaVersion !== undefined && def.schemaVersion !== 2)
      report(["schemaVersion"], `"schemaVersion" must be 2, got ${JSON.stringify(def.schemaVersion)}`);
  },
};

export const workflowInputs: Rule = {
  id: "workflow-inputs",
  severity: "error",
  description: 'the workflow\'s "inputParameters" is a list of names',
  fix: 'write e.g. "inputParameters": ["text", "topic"]',
  workflow({ def }, report) {
    const p = def.inputParameters;
    if (p !== undefined && (!Array.isArray(p) || p.some((x) => typeof x !== "string")))
      report(["inputParameters"], '"inputParameters" of a workflow is a list of input names');
  },
};

export const workflowTasks: Rule = {
  id: "workflow-tasks",
  severity: "error",
  description: 'the workflow has a non-empty "tasks" list (the server refuses an empty one)',
  fix: 'add "tasks": [ ... ] with at least one task',
  workflow({ def }, report) {
    if (def.tasks === undefined) report(["tasks"], 'the workflow has no "tasks"');
    else if (!Array.isArray(def.tasks) || def.tasks.length === 0) report(["tasks"], '"tasks" must be a non-empty list of tasks');
  },
};

export const workflowOutputs: Rule = {
  id: "workflow-outputs",
  severity: "error",
  description: '"outputParameters" is an object',
  fix: 'write e.g. "outputParameters": { "result": "${last_task.output.result}" }',
  workflow({ def }, report) {
    if (def.outputParameters !== undefined && !isObject(def.outputParameters)) report(["outputParameters"], '"outputParameters" must be an object');
  },
};

export const WORKFLOW_RULES: readonly Rule[] = [workflowName, workflowVersion, schemaVersion, workflowInputs, workflowTasks, workflowOutputs];
