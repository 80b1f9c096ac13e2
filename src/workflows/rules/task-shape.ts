/** Rules every task meets whatever its type: shape, name, reference name, type. */
import { closest, editDistance, toPointer } from "../issues.ts";
import { isNonEmptyString, isObject, type TaskNode, type WorkflowModel } from "../model.ts";
import type { Rule } from "../rule.ts";
import { ALL_TASK_TYPES, introducedBy, taskTypesOf } from "../task-types.ts";
import { describeRange } from "../target.ts";

export const taskShape: Rule = {
  id: "task-shape",
  severity: "error",
  description: "each entry of a task list is a JSON object",
  fix: 'write { "name": ..., "taskReferenceName": ..., "type": ... }',
  workflow(model, report) {
    for (const bad of model.badTasks) report(bad.path, "each task must be a JSON object");
  },
};

export const taskName: Rule = {
  id: "task-name",
  severity: "error",
  description: 'each task has a non-empty "name" (WorkflowTask.name is @NotEmpty)',
  fix: 'add "name": the task type name for SIMPLE tasks, any label for system tasks',
  task({ task, path }, report) {
    if (!isNonEmptyString(task.name)) report([...path, "name"], task.name === undefined ? 'the task has no "name"' : '"name" must be a non-empty string');
  },
};

export const taskRef: Rule = {
  id: "task-ref",
  severity: "error",
  description: 'each task has a non-empty "taskReferenceName"',
  fix: 'add "taskReferenceName": a name unique in this workflow',
  task({ task, path }, report) {
    if (!isNonEmptyString(task.taskReferenceName)) {
      report(
        [...path, "taskReferenceName"],
        task.taskReferenceName === undefined ? 'the task has no "taskReferenceName"' : '"taskReferenceName" must be a non-empty string',
      );
    }
  },
};

export const duplicateRef: Rule = {
  id: "duplicate-ref",
  severity: "error",
  description: "reference names are unique across the whole workflow (the server refuses duplicates)",
  fix: "rename one: reference names must be unique across the whole workflow, fork branches, switch cases and loops included",
  task(node, report, model) {
    const first = node.ref ? model.refs.get(node.ref) : undefined;
    if (first && first !== node) report([...node.path, "taskReferenceName"], `taskReferenceName "${node.ref}" is already used at #${toPointer(first.path)}`);
  },
};

/** A type that is neither known to the target nor served by the project. */
function unknownType(node: TaskNode, model: WorkflowModel, orName: boolean): boolean {
  if (typeof node.task.type !== "string" && node.task.type !== undefined) return false;
  if (taskTypesOf(model.target.version).has(node.type)) return false;
  const served = (n: unknown) => typeof n === "string" && (model.knownTasks.has(n) || model.config.externalTasks.includes(n));
  return !served(node.type) && !(orName && served(node.task.name));
}

/** A near-miss of a known type ("SIMPL"), not a type of its own. */
function typoOf(type: string): string | undefined {
  if (ALL_TASK_TYPES.includes(type)) return undefined;
  const near = closest(type, ALL_TASK_TYPES);
  // A real custom type rarely sits within two edits of a system type; "SIMPL", "SWICH", "FORKJOIN" do.
  return near && near !== type && (near.toUpperCase() === type.toUpperCase() || editDistance(type.toUpperCase(), near) <= 2) ? near : undefined;
}

export const taskTypeShape: Rule = {
  id: "task-type",
  severity: "error",
  description: '"type", when given, is a string',
  fix: 'write the type as a string, e.g. "type": "SIMPLE" (or leave it out for SIMPLE)',
  task({ task, path }, report) {
    if (task.type !== undefined && typeof task.type !== "string") report([...path, "type"], `"type" must be a string, got ${JSON.stringify(task.type)}`);
  },
};

export const taskTypeTypo: Rule = {
  id: "task-type-typo",
  severity: "error",
  description: "a type one or two letters away from a Conductor type is a typo, not a custom type",
  task(node, report, model) {
    if (!unknownType(node, model, false)) return;
    const near = typoOf(node.type);
    if (near) report([...node.path, "type"], `unknown task type "${node.type}": did you mean "${near}"?`, `write "type": "${near}"`);
  },
};

export const unknownTaskType: Rule = {
  id: "unknown-task-type",
  severity: "warning",
  description: "a type the target server does not know runs as a user-defined task (a worker must poll it)",
  task(node, report, model) {
    if (!unknownType(node, model, true) || typoOf(node.type)) return;
    const since = introducedBy(node.type);
    const what = since
      ? `"${node.type}" is a system task of ${describeRange(since)}; Conductor ${model.target.version} does not have it`
      : `Conductor ${model.target.version} has no task type "${node.type}"`;
    report(
      [...node.path, "type"],
      `${what}: the server schedules it as a user-defined task, which needs a task definition named "${String(node.task.name)}" and a worker polling "${node.type}"`,
      since
        ? `target a Conductor of ${describeRange(since)} (--conductor-version), or serve it with a worker`
        : `if a worker or your deployment serves "${node.type}", list it in "externalTasks" of idflow.config.json to silence this`,
    );
  },
};

export const unknownSimpleTask: Rule = {
  id: "unknown-task",
  severity: "error",
  description: "a SIMPLE task has a worker in this project or is declared external",
  types: ["SIMPLE"],
  task({ task, path }, report, model) {
    const name = task.name;
    if (!isNonEmptyString(name) || model.knownTasks.has(name) || model.config.externalTasks.includes(name)) return;
    const near = closest(name, [...model.knownTasks, ...model.config.externalTasks]);
    report(
      [...path, "name"],
      `SIMPLE task "${name}" has no worker in this project`,
      `${near ? `did you mean "${near}"? Otherwise ` : ""}add a worker with workerTask({ name: "${name}" }) under tasks/, or list "${name}" in "externalTasks" of idflow.config.json if a worker elsewhere serves it`,
    );
  },
};

export const taskInputsShape: Rule = {
  id: "task-inputs",
  severity: "error",
  description: 'a task\'s "inputParameters" is an object',
  fix: 'write e.g. "inputParameters": { "text": "${workflow.input.text}" }',
  task({ task, path }, report) {
    if (task.inputParameters !== undefined && !isObject(task.inputParameters))
      report([...path, "inputParameters"], '"inputParameters" of a task must be an object');
  },
};

export const TASK_SHAPE_RULES: readonly Rule[] = [
  taskShape,
  taskName,
  taskRef,
  duplicateRef,
  taskTypeShape,
  taskTypeTypo,
  unknownTaskType,
  unknownSimpleTask,
  taskInputsShape,
];
