/**
 * Workflow validation: Conductor's own rules (shape, task types, the fields each type needs,
 * unique reference names) and the project's (SIMPLE tasks have a worker, `${ref.output}` names a
 * task that has run by then, `${workflow.input.x}` is declared, sub-workflows exist).
 * Every problem is reported, not just the first; errors and warnings apart.
 */
import type { LoadedWorkflow } from "./load.ts";
import { issueAt } from "./load.ts";
import { closest, sortIssues, toPointer, type Issue, type Severity } from "./issues.ts";
import { javascriptSyntaxError } from "./javascript.ts";
import { EMPTY_PROJECT_CONFIG, type ProjectConfig } from "./project-config.ts";
import { KNOWN_TASK_TYPES, TASK_TYPES } from "./task-types.ts";

export interface ValidationContext {
  /** Task names the project's workers serve (discovered registrations). */
  knownTasks: Iterable<string>;
  /** externalTasks / externalWorkflows from idflow.config.json. */
  config?: ProjectConfig;
}

/** Validate every workflow; issues sorted by file and position. */
export function validateWorkflows(workflows: LoadedWorkflow[], ctx: ValidationContext): Issue[] {
  const config = ctx.config ?? EMPTY_PROJECT_CONFIG;
  const knownTasks = new Set(ctx.knownTasks);
  const projectWorkflows = new Set<string>();
  for (const wf of workflows) if (typeof wf.def?.name === "string") projectWorkflows.add(wf.def.name);
  const issues: Issue[] = [];
  const seen = new Map<string, LoadedWorkflow>();
  for (const wf of workflows) {
    const c = new WorkflowChecker(wf, knownTasks, config, projectWorkflows);
    issues.push(...c.run());
    const key = `${String(wf.def?.name)}@${String(wf.def?.version ?? 1)}`;
    const first = seen.get(key);
    if (first && typeof wf.def?.name === "string") {
      issues.push(
        issueAt(wf.source, "/name", "error", "duplicate-workflow", `workflow "${wf.def.name}" version ${wf.def.version ?? 1} is also defined in ${first.source.file}`, "rename one of them or give it another version"),
      );
    } else seen.set(key, wf);
  }
  return sortIssues(issues);
}

type Json = Record<string, unknown>;
type Path = Array<string | number>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

/** Where a task sits: the chain of branching containers above it ("fork#1", "switch#case:a", "loop#body"). */
interface RefInfo {
  path: Path;
  containers: Array<{ ref: string; type: string; slot: string }>;
}

const JS_EVALUATORS = new Set(["javascript", "graaljs"]);
const INLINE_EVALUATORS = ["javascript", "graaljs", "value-param", "python"];
const SWITCH_EVALUATORS = ["value-param", "javascript", "graaljs"];
const TERMINATION_STATUSES = ["COMPLETED", "FAILED", "TERMINATED"];

class WorkflowChecker {
  private readonly issues: Issue[] = [];
  private readonly refs = new Map<string, RefInfo>();
  private readonly def: Json;
  private declaredInputs?: Set<string>;

  constructor(
    private readonly wf: LoadedWorkflow,
    private readonly knownTasks: Set<string>,
    private readonly config: ProjectConfig,
    private readonly projectWorkflows: Set<string>,
  ) {
    this.def = wf.def as unknown as Json;
  }

  run(): Issue[] {
    this.checkWorkflowFields();
    const tasks = this.def.tasks;
    if (Array.isArray(tasks)) {
      this.checkList(tasks, ["tasks"], []);
      this.checkReferences(tasks, ["tasks"], new Set());
      if (this.def.outputParameters !== undefined) {
        this.scanExpressions(this.def.outputParameters, ["outputParameters"], (ref, path, expr) => {
          if (!this.refs.has(ref)) this.unknownRef(ref, path, expr);
        });
      }
    }
    return this.issues;
  }

  // ------------------------------------------------------------------ reporting

  private add(severity: Severity, path: Path, rule: string, message: string, hint?: string): void {
    this.issues.push(issueAt(this.wf.source, toPointer(path), severity, rule, message, hint));
  }
  private error(path: Path, rule: string, message: string, hint?: string): void {
    this.add("error", path, rule, message, hint);
  }
  private warn(path: Path, rule: string, message: string, hint?: string): void {
    this.add("warning", path, rule, message, hint);
  }

  // ------------------------------------------------------------------ the workflow itself

  private checkWorkflowFields(): void {
    const d = this.def;
    if (!isNonEmptyString(d.name)) {
      this.error(["name"], "workflow-name", d.name === undefined ? 'the workflow has no "name"' : '"name" must be a non-empty string', 'add "name": "my_workflow" (letters, digits and _)');
    }
    if (d.version === undefined) {
      this.error(["version"], "workflow-version", 'the workflow has no "version"', 'add "version": 1');
    } else if (!Number.isInteger(d.version) || (d.version as number) < 1) {
      this.error(["version"], "workflow-version", `"version" must be a whole number of 1 or more, got ${JSON.stringify(d.version)}`, 'write e.g. "version": 1');
    }
    if (d.schemaVersion !== undefined && d.schemaVersion !== 2) {
      this.error(["schemaVersion"], "schema-version", `"schemaVersion" must be 2, got ${JSON.stringify(d.schemaVersion)}`, 'write "schemaVersion": 2 (Conductor accepts no other)');
    }
    if (d.inputParameters !== undefined) {
      if (!Array.isArray(d.inputParameters) || d.inputParameters.some((p) => typeof p !== "string")) {
        this.error(["inputParameters"], "workflow-inputs", '"inputParameters" of a workflow is a list of input names', 'write e.g. "inputParameters": ["text", "topic"]');
      } else this.declaredInputs = new Set(d.inputParameters as string[]);
    }
    if (d.tasks === undefined) {
      this.error(["tasks"], "workflow-tasks", 'the workflow has no "tasks"', 'add "tasks": [ ... ] with at least one task');
    } else if (!Array.isArray(d.tasks) || d.tasks.length === 0) {
      this.error(["tasks"], "workflow-tasks", '"tasks" must be a non-empty list of tasks', "add at least one task to the list");
    }
    if (d.outputParameters !== undefined && !isObject(d.outputParameters)) {
      this.error(["outputParameters"], "workflow-outputs", '"outputParameters" must be an object', 'write e.g. "outputParameters": { "result": "${last_task.output.result}" }');
    }
  }

  // ------------------------------------------------------------------ structure (pass 1)

  private checkList(list: unknown[], path: Path, containers: RefInfo["containers"]): void {
    list.forEach((task, i) => this.checkTask(task, [...path, i], containers, list, i));
  }

  /** A nested list of tasks (fork branch, switch case, loop body). */
  private checkNestedList(value: unknown, path: Path, containers: RefInfo["containers"], what: string, allowEmpty: boolean): void {
    if (!Array.isArray(value)) {
      this.error(path, "task-list", `${what} must be a list of tasks`, "write it as [ { task }, ... ]");
      return;
    }
    if (!allowEmpty && value.length === 0) this.error(path, "task-list", `${what} is empty`, "add at least one task");
    this.checkList(value, path, containers);
  }

  private checkTask(task: unknown, path: Path, containers: RefInfo["containers"], siblings: unknown[], index: number): void {
    if (!isObject(task)) {
      this.error(path, "task-shape", "each task must be a JSON object", 'write { "name": ..., "taskReferenceName": ..., "type": ... }');
      return;
    }
    const t = task;
    if (!isNonEmptyString(t.name)) {
      this.error([...path, "name"], "task-name", t.name === undefined ? 'the task has no "name"' : '"name" must be a non-empty string', 'add "name": the task type name for SIMPLE tasks, any label for system tasks');
    }
    const ref = t.taskReferenceName;
    if (!isNonEmptyString(ref)) {
      this.error([...path, "taskReferenceName"], "task-ref", t.taskReferenceName === undefined ? 'the task has no "taskReferenceName"' : '"taskReferenceName" must be a non-empty string', 'add "taskReferenceName": a name unique in this workflow');
    } else {
      const first = this.refs.get(ref);
      if (first) {
        this.error([...path, "taskReferenceName"], "duplicate-ref", `taskReferenceName "${ref}" is already used at #${toPointer(first.path)}`, "rename one: reference names must be unique across the whole workflow, fork branches, switch cases and loops included");
      } else this.refs.set(ref, { path, containers });
    }
    const type = t.type === undefined ? "SIMPLE" : t.type;
    if (typeof type !== "string" || !KNOWN_TASK_TYPES.has(type)) {
      const near = typeof type === "string" ? closest(type, TASK_TYPES) : undefined;
      this.error([...path, "type"], "unknown-task-type", `unknown task type ${JSON.stringify(type)}: expected one of ${TASK_TYPES.join(", ")}`, near ? `did you mean "${near}"?` : "use one of the types listed (leave it out for SIMPLE)");
      return;
    }
    const ip = t.inputParameters;
    if (ip !== undefined && !isObject(ip)) {
      this.error([...path, "inputParameters"], "task-inputs", '"inputParameters" of a task must be an object', 'write e.g. "inputParameters": { "text": "${workflow.input.text}" }');
    }
    const inputs: Json = isObject(ip) ? ip : {};
    const here = isNonEmptyString(ref) ? ref : `#${toPointer(path)}`;
    const need = (field: string, ok: boolean, what: string, hint: string, at: Path = [...path, field]) => {
      if (!ok) this.error(at, "missing-field", `${type} task "${here}" needs ${what}`, hint);
    };

    switch (type) {
      case "SIMPLE": {
        if (isNonEmptyString(t.name) && !this.knownTasks.has(t.name) && !this.config.externalTasks.includes(t.name)) {
          const near = closest(t.name, [...this.knownTasks, ...this.config.externalTasks]);
          this.error(
            [...path, "name"],
            "unknown-task",
            `SIMPLE task "${t.name}" has no worker in this project`,
            `${near ? `did you mean "${near}"? Otherwise ` : ""}add a worker with workerTask({ name: "${t.name}" }) under tasks/, or list "${t.name}" in "externalTasks" of idflow.config.json if a worker elsewhere serves it`,
          );
        }
        break;
      }
      case "INLINE": {
        const ev = inputs.evaluatorType;
        need("evaluatorType", typeof ev === "string" && INLINE_EVALUATORS.includes(ev), `inputParameters.evaluatorType (one of ${INLINE_EVALUATORS.join(", ")})`, 'add "evaluatorType": "javascript" to inputParameters', [...path, "inputParameters", "evaluatorType"]);
        need("expression", isNonEmptyString(inputs.expression), "inputParameters.expression (the script to run)", 'add "expression": "(function () { return $.a + $.b; })()" to inputParameters', [...path, "inputParameters", "expression"]);
        if (typeof ev === "string" && JS_EVALUATORS.has(ev) && isNonEmptyString(inputs.expression)) {
          this.checkScript(inputs.expression, [...path, "inputParameters", "expression"], "expression");
        }
        break;
      }
      case "SWITCH": {
        const ev = t.evaluatorType;
        need("evaluatorType", typeof ev === "string" && SWITCH_EVALUATORS.includes(ev), `"evaluatorType" (one of ${SWITCH_EVALUATORS.join(", ")})`, 'add "evaluatorType": "value-param" (expression names an input parameter) or "javascript"');
        need("expression", isNonEmptyString(t.expression), '"expression"', 'add "expression": the input parameter name (value-param) or a script (javascript)');
        if (typeof ev === "string" && JS_EVALUATORS.has(ev) && isNonEmptyString(t.expression)) this.checkScript(t.expression, [...path, "expression"], "expression");
        if (ev === "value-param" && isNonEmptyString(t.expression) && !(t.expression in inputs)) {
          this.warn([...path, "expression"], "switch-param", `SWITCH "${here}" switches on input parameter "${t.expression}", which its inputParameters do not define: it will always take the defaultCase`, `add "${t.expression}": "\${...}" to inputParameters`);
        }
        this.checkCases(t, path, containers, here, type);
        break;
      }
      case "DECISION": {
        need("caseValueParam", isNonEmptyString(t.caseValueParam) || isNonEmptyString(t.caseExpression), '"caseValueParam" or "caseExpression"', 'add "caseValueParam": the input parameter to switch on');
        this.checkCases(t, path, containers, here, type);
        this.warn([...path, "type"], "deprecated", "DECISION is deprecated in Conductor", "use SWITCH with evaluatorType value-param or javascript");
        break;
      }
      case "FORK_JOIN": {
        const fork = t.forkTasks;
        if (!Array.isArray(fork) || fork.length === 0) {
          need("forkTasks", false, '"forkTasks": a non-empty list of branches (each a list of tasks)', 'write "forkTasks": [ [ {task} ], [ {task} ] ]');
        } else {
          fork.forEach((branch, b) => this.checkNestedList(branch, [...path, "forkTasks", b], [...containers, { ref: here, type, slot: `branch ${b + 1}` }], `branch ${b + 1} of FORK_JOIN "${here}"`, false));
        }
        this.checkJoinFollows(siblings, index, path, here, type);
        break;
      }
      case "FORK_JOIN_DYNAMIC": {
        const byParams = isNonEmptyString(t.dynamicForkTasksParam) && isNonEmptyString(t.dynamicForkTasksInputParamName);
        const legacy = isNonEmptyString(t.dynamicForkJoinTasksParam);
        const byInputs = (isNonEmptyString(inputs.forkTaskName) || isNonEmptyString(inputs.forkTaskWorkflow)) && inputs.forkTaskInputs !== undefined;
        need("dynamicForkTasksParam", byParams || legacy || byInputs, '"dynamicForkTasksParam" and "dynamicForkTasksInputParamName" (the input parameters holding the tasks and their inputs)', 'add "dynamicForkTasksParam": "dynamicTasks", "dynamicForkTasksInputParamName": "dynamicTasksInput" and define both in inputParameters');
        if (byParams) {
          for (const field of ["dynamicForkTasksParam", "dynamicForkTasksInputParamName"]) {
            const key = t[field] as string;
            if (!(key in inputs)) this.error([...path, field], "missing-field", `FORK_JOIN_DYNAMIC "${here}": ${field} names "${key}", which inputParameters do not define`, `add "${key}": "\${...}" to inputParameters`);
          }
        } else if (legacy && !((t.dynamicForkJoinTasksParam as string) in inputs)) {
          this.error([...path, "dynamicForkJoinTasksParam"], "missing-field", `FORK_JOIN_DYNAMIC "${here}": dynamicForkJoinTasksParam names "${t.dynamicForkJoinTasksParam}", which inputParameters do not define`, "define it in inputParameters");
        }
        this.checkJoinFollows(siblings, index, path, here, type);
        break;
      }
      case "JOIN": {
        const prev = siblings[index - 1];
        const prevType = isObject(prev) ? prev.type : undefined;
        if (prevType !== "FORK_JOIN" && prevType !== "FORK_JOIN_DYNAMIC") {
          this.error([...path, "type"], "join-without-fork", `JOIN "${here}" does not follow a FORK_JOIN or FORK_JOIN_DYNAMIC`, "put the JOIN right after its fork, or remove it");
        }
        const joinOn = t.joinOn;
        if (joinOn !== undefined && (!Array.isArray(joinOn) || joinOn.some((j) => typeof j !== "string"))) {
          this.error([...path, "joinOn"], "join-on", '"joinOn" must be a list of task reference names', 'write "joinOn": ["branch_one_last_ref", "branch_two_last_ref"]');
        } else if (prevType === "FORK_JOIN" && isObject(prev)) {
          const inside = new Set<string>();
          collectRefs(prev.forkTasks, inside);
          if (!Array.isArray(joinOn) || joinOn.length === 0) {
            this.error([...path, "joinOn"], "join-on", `JOIN "${here}" after a FORK_JOIN needs "joinOn": the reference names of the branch tasks to wait for`, `write "joinOn": [${[...lastRefs(prev.forkTasks)].map((r) => JSON.stringify(r)).join(", ")}]`);
          } else {
            joinOn.forEach((j: string, k: number) => {
              if (!inside.has(j)) {
                const near = closest(j, inside);
                this.error([...path, "joinOn", k], "join-on", `joinOn names "${j}", which is not a task inside the FORK_JOIN "${String(prev.taskReferenceName)}" just before`, near ? `did you mean "${near}"?` : `name tasks from its branches: ${[...inside].join(", ")}`);
              }
            });
          }
        }
        break;
      }
      case "EXCLUSIVE_JOIN": {
        need("joinOn", Array.isArray(t.joinOn) && t.joinOn.length > 0, '"joinOn": the reference names to wait for', 'add "joinOn": ["ref_a", "ref_b"]');
        break;
      }
      case "DO_WHILE": {
        need("loopCondition", isNonEmptyString(t.loopCondition), '"loopCondition": a JavaScript condition', 'add "loopCondition": "if ($.loop_ref[\'iteration\'] < 3) { true; } else { false; }"');
        if (isNonEmptyString(t.loopCondition)) this.checkScript(t.loopCondition, [...path, "loopCondition"], "loopCondition");
        if (!Array.isArray(t.loopOver) || t.loopOver.length === 0) {
          need("loopOver", false, '"loopOver": a non-empty list of tasks to repeat', 'add "loopOver": [ {task} ]');
        }
        if (Array.isArray(t.loopOver)) this.checkList(t.loopOver, [...path, "loopOver"], [...containers, { ref: here, type, slot: "loop" }]);
        break;
      }
      case "SUB_WORKFLOW": {
        const p = t.subWorkflowParam;
        if (!isObject(p) || (!isNonEmptyString(p.name) && !isObject(p.workflowDefinition))) {
          need("subWorkflowParam", false, '"subWorkflowParam.name": the workflow to run', 'add "subWorkflowParam": { "name": "other_workflow", "version": 1 }', [...path, "subWorkflowParam", "name"]);
        } else if (isNonEmptyString(p.name) && !isObject(p.workflowDefinition) && !p.name.includes("${")) {
          if (!this.projectWorkflows.has(p.name) && !this.config.externalWorkflows.includes(p.name)) {
            const near = closest(p.name, [...this.projectWorkflows, ...this.config.externalWorkflows]);
            this.error([...path, "subWorkflowParam", "name"], "unknown-sub-workflow", `SUB_WORKFLOW "${here}" runs workflow "${p.name}", which is not in this project`, `${near ? `did you mean "${near}"? Otherwise ` : ""}add workflows/${p.name}/${p.name}.json, or list "${p.name}" in "externalWorkflows" of idflow.config.json if it is defined elsewhere`);
          }
          if (p.version !== undefined && !(Number.isInteger(p.version) || (typeof p.version === "string" && p.version.includes("${")))) {
            this.error([...path, "subWorkflowParam", "version"], "sub-workflow-version", '"subWorkflowParam.version" must be a whole number', "write e.g. 1, or leave it out for the latest");
          }
        }
        break;
      }
      case "START_WORKFLOW": {
        const sw = inputs.startWorkflow;
        need("startWorkflow", isObject(sw) && isNonEmptyString(sw.name), "inputParameters.startWorkflow.name", 'add "startWorkflow": { "name": "other_workflow", "input": {} } to inputParameters', [...path, "inputParameters", "startWorkflow"]);
        break;
      }
      case "DYNAMIC": {
        need("dynamicTaskNameParam", isNonEmptyString(t.dynamicTaskNameParam), '"dynamicTaskNameParam": the input parameter holding the task name to run', 'add "dynamicTaskNameParam": "taskToExecute" and define it in inputParameters');
        if (isNonEmptyString(t.dynamicTaskNameParam) && !(t.dynamicTaskNameParam in inputs)) {
          this.error([...path, "dynamicTaskNameParam"], "missing-field", `DYNAMIC "${here}": dynamicTaskNameParam names "${t.dynamicTaskNameParam}", which inputParameters do not define`, `add "${t.dynamicTaskNameParam}": "\${...}" to inputParameters`);
        }
        break;
      }
      case "TERMINATE": {
        const s = inputs.terminationStatus;
        need("terminationStatus", typeof s === "string" && TERMINATION_STATUSES.includes(s), `inputParameters.terminationStatus (one of ${TERMINATION_STATUSES.join(", ")})`, 'add "terminationStatus": "COMPLETED" to inputParameters', [...path, "inputParameters", "terminationStatus"]);
        break;
      }
      case "HTTP": {
        const r = inputs.http_request;
        const ok = (isObject(r) && isNonEmptyString(r.uri)) || isNonEmptyString(inputs.uri);
        need("http_request", ok, "inputParameters.http_request with a uri (and method)", 'add "http_request": { "uri": "https://...", "method": "GET" } to inputParameters', [...path, "inputParameters", "http_request"]);
        break;
      }
      case "JSON_JQ_TRANSFORM": {
        need("queryExpression", isNonEmptyString(inputs.queryExpression), "inputParameters.queryExpression (a jq program)", 'add "queryExpression": ".a + .b" to inputParameters', [...path, "inputParameters", "queryExpression"]);
        break;
      }
      case "KAFKA_PUBLISH": {
        need("kafka_request", isObject(inputs.kafka_request), "inputParameters.kafka_request", 'add "kafka_request": { "topic": ..., "value": ..., "bootStrapServers": ... }', [...path, "inputParameters", "kafka_request"]);
        break;
      }
      case "EVENT": {
        need("sink", isNonEmptyString(t.sink), '"sink" (e.g. "conductor" or "sqs:queue")', 'add "sink": "conductor"');
        break;
      }
      case "LAMBDA": {
        need("scriptExpression", isNonEmptyString(inputs.scriptExpression), "inputParameters.scriptExpression", "add a scriptExpression, or better use INLINE (LAMBDA is deprecated)", [...path, "inputParameters", "scriptExpression"]);
        break;
      }
      default:
        // WAIT, HUMAN, SET_VARIABLE, NOOP, USER_DEFINED: no required fields.
        break;
    }
  }

  private checkCases(t: Json, path: Path, containers: RefInfo["containers"], here: string, type: string): void {
    const cases = t.decisionCases;
    if (!isObject(cases) || Object.keys(cases).length === 0) {
      this.error([...path, "decisionCases"], "missing-field", `${type} task "${here}" needs "decisionCases": an object of case value → list of tasks`, 'add "decisionCases": { "value": [ {task} ] }');
    } else {
      for (const [k, list] of Object.entries(cases)) {
        this.checkNestedList(list, [...path, "decisionCases", k], [...containers, { ref: here, type, slot: `case "${k}"` }], `case "${k}" of ${type} "${here}"`, true);
      }
    }
    if (t.defaultCase !== undefined) {
      this.checkNestedList(t.defaultCase, [...path, "defaultCase"], [...containers, { ref: here, type, slot: "defaultCase" }], `defaultCase of ${type} "${here}"`, true);
    }
  }

  private checkJoinFollows(siblings: unknown[], index: number, path: Path, here: string, type: string): void {
    const next = siblings[index + 1];
    if (!isObject(next) || next.type !== "JOIN") {
      this.error([...path, "type"], "fork-without-join", `${type} "${here}" must be followed directly by a JOIN task`, `add { "name": "join", "taskReferenceName": "${here}_join", "type": "JOIN", "joinOn": [...] } right after it`);
    }
  }

  private checkScript(code: string, path: Path, what: string): void {
    const err = javascriptSyntaxError(code);
    if (err) this.error(path, "script-syntax", `${what} does not parse as JavaScript: ${err}`, "fix the script; Conductor evaluates it with GraalJS");
  }

  // ------------------------------------------------------------------ references (pass 2)

  /**
   * Walks tasks in execution order. `visible` holds the references that have run (or may have
   * run) before the current task. Returns every reference defined in the list, nested ones included.
   */
  private checkReferences(list: unknown[], path: Path, visibleIn: Set<string>): Set<string> {
    const visible = new Set(visibleIn);
    const defined = new Set<string>();
    list.forEach((task, i) => {
      if (!isObject(task)) return;
      const tpath = [...path, i];
      const ref = isNonEmptyString(task.taskReferenceName) ? task.taskReferenceName : undefined;
      const type = task.type ?? "SIMPLE";
      const nested = new Set<string>();
      const inner = new Set(visible);
      if (ref) inner.add(ref);
      if (type === "DO_WHILE") {
        // Its inputs are evaluated on every iteration, with the loop body's outputs.
        const body = new Set<string>();
        collectRefs(task.loopOver, body);
        this.checkInputs(task, tpath, new Set([...inner, ...body]));
        if (Array.isArray(task.loopOver)) for (const r of this.checkReferences(task.loopOver, [...tpath, "loopOver"], inner)) nested.add(r);
      } else {
        this.checkInputs(task, tpath, visible);
        if (type === "FORK_JOIN" && Array.isArray(task.forkTasks)) {
          task.forkTasks.forEach((branch, b) => {
            if (Array.isArray(branch)) for (const r of this.checkReferences(branch, [...tpath, "forkTasks", b], inner)) nested.add(r);
          });
        }
        if ((type === "SWITCH" || type === "DECISION") && isObject(task.decisionCases)) {
          for (const [k, c] of Object.entries(task.decisionCases)) {
            if (Array.isArray(c)) for (const r of this.checkReferences(c, [...tpath, "decisionCases", k], inner)) nested.add(r);
          }
        }
        if ((type === "SWITCH" || type === "DECISION") && Array.isArray(task.defaultCase)) {
          for (const r of this.checkReferences(task.defaultCase, [...tpath, "defaultCase"], inner)) nested.add(r);
        }
      }
      for (const r of [...(ref ? [ref] : []), ...nested]) {
        visible.add(r);
        defined.add(r);
      }
    });
    return defined;
  }

  private checkInputs(task: Json, tpath: Path, visible: Set<string>): void {
    if (task.inputParameters === undefined) return;
    const self = isNonEmptyString(task.taskReferenceName) ? task.taskReferenceName : undefined;
    this.scanExpressions(task.inputParameters, [...tpath, "inputParameters"], (ref, path, expr) => {
      if (!this.refs.has(ref)) return this.unknownRef(ref, path, expr);
      if (visible.has(ref)) return;
      if (ref === self) {
        this.error(path, "ref-self", `${expr} refers to this task's own output: it has not run when its inputs are computed`, "use the output of an earlier task, or a workflow input");
        return;
      }
      const why = this.whyNotVisible(ref, self);
      this.error(path, "ref-not-run", `${expr} refers to task "${ref}", which ${why}`, "move the reference after that task (for fork branches: after the JOIN), or take the value from a task that runs earlier");
    });
  }

  private whyNotVisible(ref: string, user: string | undefined): string {
    const a = this.refs.get(ref)!.containers;
    const b = user ? (this.refs.get(user)?.containers ?? []) : [];
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i].ref === b[i].ref && a[i].slot !== b[i].slot) {
        return a[i].type === "FORK_JOIN"
          ? `runs in another branch (${a[i].slot}) of FORK_JOIN "${a[i].ref}" in parallel, so its output is not there yet (Conductor would pass null)`
          : `is in another case (${a[i].slot}) of ${a[i].type} "${a[i].ref}": both never run in the same execution`;
      }
      if (a[i].ref !== b[i].ref) break;
    }
    return "has not run yet at this point (it comes later in the workflow)";
  }

  private unknownRef(ref: string, path: Path, expr: string): void {
    const near = closest(ref, this.refs.keys());
    this.error(path, "unknown-ref", `${expr} refers to task "${ref}", but no task in this workflow has that taskReferenceName`, near ? `did you mean "${near}"?` : `use one of: ${[...this.refs.keys()].join(", ")}`);
  }

  /** Calls back for every `${ref...}` naming a task reference; checks `${workflow.input.x}` itself. */
  private scanExpressions(value: unknown, path: Path, onTaskRef: (ref: string, path: Path, expr: string) => void): void {
    if (typeof value === "string") {
      for (const m of value.matchAll(/\$\{([^}]*)\}/g)) {
        const expr = m[0];
        const segs = m[1].trim().split(/[.[\]'"]+/).filter(Boolean);
        const head = segs[0];
        if (!head) continue;
        if (head === "workflow") {
          if (segs[1] === "input" && segs[2] && !this.declaredInputs?.has(segs[2])) {
            this.warn(path, "undeclared-input", `${expr} reads workflow input "${segs[2]}", which the workflow's "inputParameters" do not declare`, `add "${segs[2]}" to the workflow's "inputParameters" list`);
          }
          continue;
        }
        if (this.refs.has(head)) onTaskRef(head, path, expr);
        else if (/^[A-Z][A-Z0-9_]*$/.test(head) && segs.length === 1) continue; // CPEWF_TASK_ID and environment values
        else onTaskRef(head, path, expr);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.scanExpressions(v, [...path, i], onTaskRef));
    } else if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) this.scanExpressions(v, [...path, k], onTaskRef);
    }
  }
}

/** Every taskReferenceName in a task list, nested lists included. */
function collectRefs(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into);
  } else if (isObject(value)) {
    if (isNonEmptyString(value.taskReferenceName)) into.add(value.taskReferenceName);
    for (const k of ["forkTasks", "loopOver", "defaultCase"]) collectRefs(value[k], into);
    if (isObject(value.decisionCases)) for (const c of Object.values(value.decisionCases)) collectRefs(c, into);
  }
}

/** The last task reference of each fork branch (what joinOn usually names). */
function lastRefs(forkTasks: unknown): string[] {
  if (!Array.isArray(forkTasks)) return [];
  return forkTasks.flatMap((b) => {
    const last = Array.isArray(b) ? b[b.length - 1] : undefined;
    return isObject(last) && isNonEmptyString(last.taskReferenceName) ? [last.taskReferenceName] : [];
  });
}
