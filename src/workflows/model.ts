/**
 * A workflow definition read once into what the rules need: every task (nested ones included)
 * with its JSON path, its containers and whether the server validates it at registration, every
 * `${...}` expression with the task that uses it, and what each task can see when it runs.
 */
import type { LoadedWorkflow } from "./load.ts";
import type { ProjectConfig } from "./project-config.ts";
import type { ConductorTarget } from "./target.ts";

export type Json = Record<string, unknown>;
export type Path = Array<string | number>;

export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
export const isNonEmptyString = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

/** A branching container above a task: "branch 2" of FORK_JOIN "f", `case "a"` of SWITCH "s", the loop of DO_WHILE "l". */
export interface Container {
  ref: string;
  type: string;
  slot: string;
}

export interface TaskNode {
  task: Json;
  path: Path;
  /** `type`, SIMPLE when left out (a non-string type is kept as its JSON text). */
  type: string;
  ref?: string;
  /** The reference name, or `#/json/pointer` when it has none (for messages). */
  here: string;
  /** inputParameters when it is an object, else {}. */
  inputs: Json;
  containers: Container[];
  /** The list it sits in, and its index there (a fork needs its JOIN right after it). */
  siblings: unknown[];
  index: number;
  /**
   * Inside a DO_WHILE `loopOver`: Conductor does not validate these tasks at registration
   * (WorkflowTask.loopOver has no @Valid), so registration rules do not apply to them.
   */
  inLoop: boolean;
  /** In the workflow's own `tasks` list: the only tasks whose `${...}` inputs the server checks. */
  topLevel: boolean;
}

/** One `${...}` found in a task's inputParameters or the workflow's outputParameters. */
export interface Expression {
  path: Path;
  /** `${...}` as written. */
  text: string;
  /** What is inside the braces, untrimmed. */
  inner: string;
  /** The task whose inputs hold it; undefined for outputParameters. */
  owner?: TaskNode;
}

/** A list of tasks where a list of tasks is expected but something else was found. */
export interface BadTask {
  path: Path;
}

export interface ValidationInputs {
  /** Task names the project's workers serve. */
  knownTasks: ReadonlySet<string>;
  config: ProjectConfig;
  /** Names of the workflows in the project. */
  projectWorkflows: ReadonlySet<string>;
  target: ConductorTarget;
}

export interface WorkflowModel extends ValidationInputs {
  wf: LoadedWorkflow;
  def: Json;
  tasks: TaskNode[];
  /** Entries of task lists that are not objects. */
  badTasks: BadTask[];
  /** First task per reference name. */
  refs: Map<string, TaskNode>;
  /** The workflow's declared inputs; undefined when it declares none (Conductor never enforces the list). */
  declaredInputs?: Set<string>;
  expressions: Expression[];
}

/** Task lists nested inside a task, by the field that holds them. */
export function nestedLists(node: TaskNode): Array<{ list: unknown; path: Path; slot: string; loop: boolean }> {
  const t = node.task;
  const out: Array<{ list: unknown; path: Path; slot: string; loop: boolean }> = [];
  if (node.type === "FORK_JOIN" && Array.isArray(t.forkTasks)) {
    for (const [i, b] of t.forkTasks.entries()) out.push({ list: b, path: [...node.path, "forkTasks", i], slot: `branch ${i + 1}`, loop: false });
  }
  if ((node.type === "SWITCH" || node.type === "DECISION") && isObject(t.decisionCases)) {
    for (const [k, c] of Object.entries(t.decisionCases)) out.push({ list: c, path: [...node.path, "decisionCases", k], slot: `case "${k}"`, loop: false });
  }
  if ((node.type === "SWITCH" || node.type === "DECISION") && t.defaultCase !== undefined) {
    out.push({ list: t.defaultCase, path: [...node.path, "defaultCase"], slot: "defaultCase", loop: false });
  }
  if (node.type === "DO_WHILE" && t.loopOver !== undefined) out.push({ list: t.loopOver, path: [...node.path, "loopOver"], slot: "loop", loop: true });
  return out;
}

export function buildModel(wf: LoadedWorkflow, inputs: ValidationInputs): WorkflowModel {
  const def = wf.def as unknown as Json;
  const model: WorkflowModel = { ...inputs, wf, def, tasks: [], badTasks: [], refs: new Map(), expressions: [] };
  if (Array.isArray(def.inputParameters) && def.inputParameters.length > 0 && def.inputParameters.every((p) => typeof p === "string")) {
    model.declaredInputs = new Set(def.inputParameters as string[]);
  }
  const walk = (list: unknown[], path: Path, containers: Container[], inLoop: boolean, topLevel: boolean): void => {
    list.forEach((task, index) => {
      const tpath = [...path, index];
      if (!isObject(task)) {
        model.badTasks.push({ path: tpath });
        return;
      }
      const rawType = task.type === undefined ? "SIMPLE" : task.type;
      const ref = isNonEmptyString(task.taskReferenceName) ? task.taskReferenceName : undefined;
      const node: TaskNode = {
        task,
        path: tpath,
        type: typeof rawType === "string" ? rawType : JSON.stringify(rawType),
        ref,
        here: ref ?? `#${tpath.map((p) => `/${p}`).join("")}`,
        inputs: isObject(task.inputParameters) ? task.inputParameters : {},
        containers,
        siblings: list,
        index,
        inLoop,
        topLevel,
      };
      model.tasks.push(node);
      if (ref && !model.refs.has(ref)) model.refs.set(ref, node);
      if (task.inputParameters !== undefined) collectExpressions(task.inputParameters, [...tpath, "inputParameters"], node, model.expressions);
      for (const n of nestedLists(node)) {
        if (Array.isArray(n.list)) walk(n.list, n.path, [...containers, { ref: node.here, type: node.type, slot: n.slot }], inLoop || n.loop, false);
      }
    });
  };
  if (Array.isArray(def.tasks)) walk(def.tasks, ["tasks"], [], false, true);
  if (def.outputParameters !== undefined) collectExpressions(def.outputParameters, ["outputParameters"], undefined, model.expressions);
  return model;
}

function collectExpressions(value: unknown, path: Path, owner: TaskNode | undefined, into: Expression[]): void {
  if (typeof value === "string") {
    for (const m of value.matchAll(/\$\{([^}]*)\}/g)) into.push({ path, text: m[0], inner: m[1], owner });
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collectExpressions(v, [...path, i], owner, into);
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) collectExpressions(v, [...path, k], owner, into);
  }
}

/** The segments of an expression's path: `${a.output['x'].y}` → a, output, x, y. */
export function segments(inner: string): string[] {
  return inner
    .trim()
    .split(/[.[\]'"]+/)
    .filter(Boolean);
}

/** Every taskReferenceName in a task list, nested lists included. */
export function collectRefs(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into);
  } else if (isObject(value)) {
    if (isNonEmptyString(value.taskReferenceName)) into.add(value.taskReferenceName);
    for (const k of ["forkTasks", "loopOver", "defaultCase"]) collectRefs(value[k], into);
    if (isObject(value.decisionCases)) for (const c of Object.values(value.decisionCases)) collectRefs(c, into);
  }
  return into;
}
