/**
 * The fields each task type needs. Where the server refuses the definition at registration
 * (core's WorkflowTaskTypeConstraint), the rule is `registrationOnly` and mirrors the server's
 * test for the target version; where the server accepts it but the task fails or hangs when it
 * runs, the rule applies everywhere, loop bodies included.
 */
import { closest } from "../issues.ts";
import { collectRefs, isNonEmptyString, isObject, type TaskNode } from "../model.ts";
import type { Report, Rule } from "../rule.ts";
import { inRange } from "../target.ts";

const INLINE_EVALUATORS = ["javascript", "graaljs", "value-param", "python"];
const SWITCH_EVALUATORS = ["value-param", "javascript", "graaljs"];
const TERMINATION_STATUSES = ["COMPLETED", "FAILED", "TERMINATED"];

const need = (node: TaskNode, report: Report, at: Array<string | number>, what: string, fix: string) =>
  report([...node.path, ...at], `${node.type} task "${node.here}" needs ${what}`, fix);

/** A value the server will fill in at run time: an object may come as `${...}`. */
const isExpression = (v: unknown): v is string => typeof v === "string" && v.includes("${");

export const inlineFields: Rule = {
  id: "inline-fields",
  severity: "error",
  description: "INLINE has inputParameters.evaluatorType and .expression (it fails when run without them)",
  types: ["INLINE"],
  task(node, report) {
    const ev = node.inputs.evaluatorType;
    if (!(typeof ev === "string" && (INLINE_EVALUATORS.includes(ev) || isExpression(ev)))) {
      need(
        node,
        report,
        ["inputParameters", "evaluatorType"],
        `inputParameters.evaluatorType (one of ${INLINE_EVALUATORS.join(", ")})`,
        'add "evaluatorType": "graaljs" (or "javascript") to inputParameters',
      );
    }
    if (!isNonEmptyString(node.inputs.expression)) {
      need(
        node,
        report,
        ["inputParameters", "expression"],
        "inputParameters.expression (the script to run)",
        'add "expression": "(function () { return $.a + $.b; })()" to inputParameters',
      );
    }
  },
};

export const graaljsEvaluator: Rule = {
  id: "graaljs-evaluator",
  severity: "error",
  description: 'evaluatorType "graaljs" exists from Conductor 3.21.21; older servers fail the task with "Unknown evaluator"',
  versions: { before: "3.21.21" },
  fix: 'use "evaluatorType": "javascript" (Nashorn, ES5) on this server, or target Conductor 3.21.21+',
  types: ["INLINE", "SWITCH"],
  task(node, report) {
    const [at, ev] = node.type === "INLINE" ? [["inputParameters", "evaluatorType"], node.inputs.evaluatorType] : [["evaluatorType"], node.task.evaluatorType];
    if (ev === "graaljs")
      report(
        [...node.path, ...at],
        `${node.type} "${node.here}" uses evaluatorType "graaljs", which this server does not have: the workflow fails when it reaches this task ("Unknown evaluator")`,
      );
  },
};

export const switchFields: Rule = {
  id: "switch-fields",
  severity: "error",
  description: "SWITCH has evaluatorType, expression and at least one decision case (the server refuses it otherwise)",
  types: ["SWITCH"],
  task(node, report) {
    const t = node.task;
    if (!(typeof t.evaluatorType === "string" && SWITCH_EVALUATORS.includes(t.evaluatorType))) {
      need(
        node,
        report,
        ["evaluatorType"],
        `"evaluatorType" (one of ${SWITCH_EVALUATORS.join(", ")})`,
        'add "evaluatorType": "value-param" (expression names an input parameter) or "javascript"',
      );
    }
    if (!isNonEmptyString(t.expression))
      need(node, report, ["expression"], '"expression"', 'add "expression": the input parameter name (value-param) or a script (javascript)');
    checkCases(node, report);
  },
};

export const switchParam: Rule = {
  id: "switch-param",
  severity: "warning",
  description: "a value-param SWITCH switches on an input parameter it defines",
  types: ["SWITCH"],
  task(node, report) {
    const e = node.task.expression;
    if (node.task.evaluatorType === "value-param" && isNonEmptyString(e) && !(e in node.inputs)) {
      report(
        [...node.path, "expression"],
        `SWITCH "${node.here}" switches on input parameter "${e}", which its inputParameters do not define: it will always take the defaultCase`,
        `add "${e}": "\${...}" to inputParameters`,
      );
    }
  },
};

export const decisionFields: Rule = {
  id: "decision-fields",
  severity: "error",
  description: "DECISION has caseValueParam or caseExpression and decision cases",
  types: ["DECISION"],
  task(node, report) {
    const t = node.task;
    if (!isNonEmptyString(t.caseValueParam) && !isNonEmptyString(t.caseExpression))
      need(node, report, ["caseValueParam"], '"caseValueParam" or "caseExpression"', 'add "caseValueParam": the input parameter to switch on');
    checkCases(node, report);
  },
};

export const deprecatedDecision: Rule = {
  id: "deprecated",
  severity: "warning",
  description: "DECISION is deprecated",
  fix: "use SWITCH with evaluatorType value-param or javascript",
  types: ["DECISION"],
  task(node, report) {
    report([...node.path, "type"], "DECISION is deprecated in Conductor");
  },
};

function checkCases(node: TaskNode, report: Report): void {
  const { task: t, path, type, here } = node;
  const cases = t.decisionCases;
  if (!isObject(cases) || Object.keys(cases).length === 0) {
    report(
      [...path, "decisionCases"],
      `${type} task "${here}" needs "decisionCases": an object of case value → list of tasks`,
      'add "decisionCases": { "value": [ {task} ] }',
    );
  } else {
    for (const [k, list] of Object.entries(cases)) {
      if (!Array.isArray(list))
        report([...path, "decisionCases", k], `case "${k}" of ${type} "${here}" must be a list of tasks`, "write it as [ { task }, ... ]");
    }
  }
  if (t.defaultCase !== undefined && !Array.isArray(t.defaultCase))
    report([...path, "defaultCase"], `defaultCase of ${type} "${here}" must be a list of tasks`, "write it as [ { task }, ... ]");
}

export const forkFields: Rule = {
  id: "fork-fields",
  severity: "error",
  description: "FORK_JOIN has a non-empty forkTasks list of branches, each a list of tasks",
  types: ["FORK_JOIN"],
  task(node, report) {
    const fork = node.task.forkTasks;
    if (!Array.isArray(fork) || fork.length === 0) {
      need(node, report, ["forkTasks"], '"forkTasks": a non-empty list of branches (each a list of tasks)', 'write "forkTasks": [ [ {task} ], [ {task} ] ]');
      return;
    }
    fork.forEach((b, i) => {
      if (!Array.isArray(b))
        report([...node.path, "forkTasks", i], `branch ${i + 1} of FORK_JOIN "${node.here}" must be a list of tasks`, "write it as [ { task }, ... ]");
    });
  },
};

export const forkEmptyBranch: Rule = {
  id: "fork-empty-branch",
  severity: "warning",
  description: "a FORK_JOIN branch with no tasks does nothing",
  fix: "add a task to the branch or remove it",
  types: ["FORK_JOIN"],
  task(node, report) {
    const fork = node.task.forkTasks;
    if (Array.isArray(fork)) {
      for (const [i, b] of fork.entries())
        if (Array.isArray(b) && b.length === 0) report([...node.path, "forkTasks", i], `branch ${i + 1} of FORK_JOIN "${node.here}" is empty`);
    }
  },
};

export const forkWithoutJoin: Rule = {
  id: "fork-without-join",
  severity: "error",
  description: "a fork is followed directly by a JOIN (the server fails the workflow at the fork otherwise)",
  types: ["FORK_JOIN", "FORK_JOIN_DYNAMIC"],
  task(node, report) {
    const next = node.siblings[node.index + 1];
    if (!isObject(next) || next.type !== "JOIN") {
      report(
        [...node.path, "type"],
        `${node.type} "${node.here}" must be followed directly by a JOIN task`,
        `add { "name": "join", "taskReferenceName": "${node.here}_join", "type": "JOIN", "joinOn": [...] } right after it`,
      );
    }
  },
};

const FORK_TASK_INPUTS_FROM = "3.22.0";

export const forkDynamicFields: Rule = {
  id: "fork-dynamic-fields",
  severity: "error",
  description:
    "FORK_JOIN_DYNAMIC names its tasks: dynamicForkTasksParam with dynamicForkTasksInputParamName, or the legacy dynamicForkJoinTasksParam, or (Conductor 3.22.0+) forkTaskInputs in inputParameters; the server refuses it otherwise",
  types: ["FORK_JOIN_DYNAMIC"],
  registrationOnly: true,
  task(node, report, model) {
    const t = node.task;
    const hasParams = t.dynamicForkTasksParam != null || t.dynamicForkTasksInputParamName != null;
    if (t.dynamicForkJoinTasksParam != null && hasParams) {
      report(
        [...node.path, "dynamicForkJoinTasksParam"],
        `FORK_JOIN_DYNAMIC "${node.here}" gives both dynamicForkJoinTasksParam and dynamicForkTasksParam/dynamicForkTasksInputParamName: the server takes one or the other`,
        "keep one of the two forms",
      );
      return;
    }
    if (t.dynamicForkJoinTasksParam != null || (t.dynamicForkTasksParam != null && t.dynamicForkTasksInputParamName != null)) return;
    const modern = "forkTaskInputs" in node.inputs;
    if (modern && inRange(model.target.version, { from: FORK_TASK_INPUTS_FROM })) return;
    if (modern) {
      report(
        [...node.path, "inputParameters", "forkTaskInputs"],
        `FORK_JOIN_DYNAMIC "${node.here}" uses forkTaskInputs (with forkTaskName/forkTaskType/forkTaskWorkflow), which Conductor accepts from ${FORK_TASK_INPUTS_FROM}; Conductor ${model.target.version} refuses it at registration (it asks for dynamicForkTasksParam and dynamicForkTasksInputParamName)`,
        `on this server, give "dynamicForkTasksParam" and "dynamicForkTasksInputParamName" naming input parameters that hold the tasks and their inputs, or target Conductor ${FORK_TASK_INPUTS_FROM}+`,
      );
      return;
    }
    need(
      node,
      report,
      ["dynamicForkTasksParam"],
      `"dynamicForkTasksParam" and "dynamicForkTasksInputParamName" (the input parameters holding the tasks and their inputs)${inRange(model.target.version, { from: FORK_TASK_INPUTS_FROM }) ? ', or "forkTaskInputs" in inputParameters' : ""}`,
      'add "dynamicForkTasksParam": "dynamicTasks", "dynamicForkTasksInputParamName": "dynamicTasksInput" and define both in inputParameters',
    );
  },
};

export const forkDynamicParams: Rule = {
  id: "fork-dynamic-param",
  severity: "error",
  description: "the input parameters a FORK_JOIN_DYNAMIC names are defined in its inputParameters (else the fork has nothing to run)",
  types: ["FORK_JOIN_DYNAMIC"],
  task(node, report) {
    if ("forkTaskInputs" in node.inputs) return; // the server tries forkTaskName/forkTaskWorkflow + forkTaskInputs first
    for (const field of ["dynamicForkTasksParam", "dynamicForkTasksInputParamName", "dynamicForkJoinTasksParam"]) {
      const key = node.task[field];
      if (isNonEmptyString(key) && !(key in node.inputs)) {
        report(
          [...node.path, field],
          `FORK_JOIN_DYNAMIC "${node.here}": ${field} names "${key}", which inputParameters do not define`,
          `add "${key}": "\${...}" to inputParameters`,
        );
      }
    }
  },
};

export const forkDynamicVersion: Rule = {
  id: "fork-dynamic-version",
  severity: "error",
  description: "forkTaskWorkflowVersion is written as a string: the server reads it as one and fails the fork on a number",
  types: ["FORK_JOIN_DYNAMIC"],
  task(node, report) {
    const v = node.inputs.forkTaskWorkflowVersion;
    if (v !== undefined && typeof v !== "string") {
      report(
        [...node.path, "inputParameters", "forkTaskWorkflowVersion"],
        `FORK_JOIN_DYNAMIC "${node.here}": forkTaskWorkflowVersion is ${JSON.stringify(v)}, not a string: the server casts it to a string and the workflow fails at the fork ("Integer cannot be cast to String")`,
        `write "forkTaskWorkflowVersion": "${String(v)}"`,
      );
    }
  },
};

function previousOf(node: TaskNode): Record<string, unknown> | undefined {
  const prev = node.siblings[node.index - 1];
  return isObject(prev) ? prev : undefined;
}

export const joinWithoutFork: Rule = {
  id: "join-without-fork",
  severity: "error",
  description: "a JOIN follows a FORK_JOIN or FORK_JOIN_DYNAMIC",
  fix: "put the JOIN right after its fork, or remove it",
  types: ["JOIN"],
  task(node, report) {
    const prevType = previousOf(node)?.type;
    if (prevType !== "FORK_JOIN" && prevType !== "FORK_JOIN_DYNAMIC")
      report([...node.path, "type"], `JOIN "${node.here}" does not follow a FORK_JOIN or FORK_JOIN_DYNAMIC`);
  },
};

export const joinOn: Rule = {
  id: "join-on",
  severity: "error",
  description: "joinOn lists reference names of tasks inside the FORK_JOIN just before (a JOIN waiting for any other task waits forever)",
  types: ["JOIN"],
  task(node, report) {
    const j = node.task.joinOn;
    if (j !== undefined && (!Array.isArray(j) || j.some((x) => typeof x !== "string"))) {
      report([...node.path, "joinOn"], '"joinOn" must be a list of task reference names', 'write "joinOn": ["branch_one_last_ref", "branch_two_last_ref"]');
      return;
    }
    const prev = previousOf(node);
    if (prev?.type !== "FORK_JOIN" || !Array.isArray(j)) return;
    const inside = collectRefs(prev.forkTasks, new Set());
    j.forEach((name: string, k: number) => {
      if (inside.has(name)) return;
      const near = closest(name, inside);
      report(
        [...node.path, "joinOn", k],
        `joinOn names "${name}", which is not a task inside the FORK_JOIN "${String(prev.taskReferenceName)}" just before: the JOIN would wait for it forever`,
        near ? `did you mean "${near}"?` : `name tasks from its branches: ${[...inside].join(", ")}`,
      );
    });
  },
};

export const joinOnEmpty: Rule = {
  id: "join-on-empty",
  severity: "warning",
  description: "a JOIN after a FORK_JOIN with an empty joinOn does not wait for the branches",
  types: ["JOIN"],
  task(node, report) {
    const prev = previousOf(node);
    const j = node.task.joinOn;
    if (prev?.type !== "FORK_JOIN" || (j !== undefined && !(Array.isArray(j) && j.length === 0))) return;
    const last = Array.isArray(prev.forkTasks)
      ? prev.forkTasks.flatMap((b) => {
          const t = Array.isArray(b) ? b[b.length - 1] : undefined;
          return isObject(t) && isNonEmptyString(t.taskReferenceName) ? [JSON.stringify(t.taskReferenceName)] : [];
        })
      : [];
    report(
      [...node.path, "joinOn"],
      `JOIN "${node.here}" has no "joinOn": the server accepts it, but the JOIN completes at once without waiting for the branches of "${String(prev.taskReferenceName)}", so later tasks may run before them`,
      `to wait for every branch, write "joinOn": [${last.join(", ")}]`,
    );
  },
};

export const exclusiveJoinFields: Rule = {
  id: "exclusive-join-fields",
  severity: "error",
  description: "EXCLUSIVE_JOIN names the references it waits for",
  types: ["EXCLUSIVE_JOIN"],
  task(node, report) {
    const j = node.task.joinOn;
    if (!Array.isArray(j) || j.length === 0) need(node, report, ["joinOn"], '"joinOn": the reference names to wait for', 'add "joinOn": ["ref_a", "ref_b"]');
  },
};

export const doWhileFields: Rule = {
  id: "do-while-fields",
  severity: "error",
  description: "DO_WHILE has a loopCondition and a non-empty loopOver (the server refuses it otherwise)",
  types: ["DO_WHILE"],
  task(node, report) {
    const t = node.task;
    if (typeof t.loopCondition !== "string")
      need(
        node,
        report,
        ["loopCondition"],
        '"loopCondition": a JavaScript condition',
        'add "loopCondition": "if ($.loop_ref[\'iteration\'] < 3) { true; } else { false; }"',
      );
    if (!Array.isArray(t.loopOver) || t.loopOver.length === 0)
      need(node, report, ["loopOver"], '"loopOver": a non-empty list of tasks to repeat', 'add "loopOver": [ {task} ]');
  },
};

export const doWhileEmptyCondition: Rule = {
  id: "do-while-empty-condition",
  severity: "warning",
  description: "an empty loopCondition makes the DO_WHILE run its body once",
  types: ["DO_WHILE"],
  task(node, report) {
    const c = node.task.loopCondition;
    if (typeof c === "string" && c.trim() === "") {
      report(
        [...node.path, "loopCondition"],
        `DO_WHILE "${node.here}" has an empty loopCondition: the server accepts it and runs the loop body once`,
        "write the condition to repeat on, e.g. \"$.loop_ref['iteration'] < 3\" (or drop the loop if once is meant)",
      );
    }
  },
};

export const subWorkflowFields: Rule = {
  id: "sub-workflow-fields",
  severity: "error",
  description: "SUB_WORKFLOW names the workflow to run (subWorkflowParam.name or an inline workflowDefinition)",
  types: ["SUB_WORKFLOW"],
  task(node, report) {
    const p = node.task.subWorkflowParam;
    if (!isObject(p) || (!isNonEmptyString(p.name) && p.workflowDefinition === undefined)) {
      need(
        node,
        report,
        ["subWorkflowParam", "name"],
        '"subWorkflowParam.name": the workflow to run',
        'add "subWorkflowParam": { "name": "other_workflow", "version": 1 }',
      );
      return;
    }
    if (p.version !== undefined && !(Number.isInteger(p.version) || isExpression(p.version))) {
      report(
        [...node.path, "subWorkflowParam", "version"],
        '"subWorkflowParam.version" must be a whole number',
        "write e.g. 1, or leave it out for the latest",
      );
    }
  },
};

export const unknownSubWorkflow: Rule = {
  id: "unknown-sub-workflow",
  severity: "error",
  description: "a SUB_WORKFLOW runs a workflow of this project or one declared external",
  types: ["SUB_WORKFLOW"],
  task(node, report, model) {
    const p = node.task.subWorkflowParam;
    if (!isObject(p) || !isNonEmptyString(p.name) || p.workflowDefinition !== undefined || p.name.includes("${")) return;
    if (model.projectWorkflows.has(p.name) || model.config.externalWorkflows.includes(p.name)) return;
    const near = closest(p.name, [...model.projectWorkflows, ...model.config.externalWorkflows]);
    report(
      [...node.path, "subWorkflowParam", "name"],
      `SUB_WORKFLOW "${node.here}" runs workflow "${p.name}", which is not in this project`,
      `${near ? `did you mean "${near}"? Otherwise ` : ""}add workflows/${p.name}/${p.name}.json, or list "${p.name}" in "externalWorkflows" of idflow.config.json if it is defined elsewhere`,
    );
  },
};

export const startWorkflowFields: Rule = {
  id: "start-workflow-fields",
  severity: "error",
  description: "START_WORKFLOW has inputParameters.startWorkflow: { name, ... } (or an expression giving it)",
  types: ["START_WORKFLOW"],
  task(node, report) {
    const sw = node.inputs.startWorkflow;
    if (isExpression(sw) || (isObject(sw) && (isNonEmptyString(sw.name) || isExpression(sw.name)))) return;
    need(
      node,
      report,
      ["inputParameters", "startWorkflow"],
      "inputParameters.startWorkflow.name",
      'add "startWorkflow": { "name": "other_workflow", "input": {} } to inputParameters',
    );
  },
};

export const dynamicFields: Rule = {
  id: "dynamic-fields",
  severity: "error",
  description: "DYNAMIC has dynamicTaskNameParam naming one of its input parameters",
  types: ["DYNAMIC"],
  task(node, report) {
    const p = node.task.dynamicTaskNameParam;
    if (!isNonEmptyString(p)) {
      need(
        node,
        report,
        ["dynamicTaskNameParam"],
        '"dynamicTaskNameParam": the input parameter holding the task name to run',
        'add "dynamicTaskNameParam": "taskToExecute" and define it in inputParameters',
      );
    } else if (!(p in node.inputs)) {
      report(
        [...node.path, "dynamicTaskNameParam"],
        `DYNAMIC "${node.here}": dynamicTaskNameParam names "${p}", which inputParameters do not define`,
        `add "${p}": "\${...}" to inputParameters`,
      );
    }
  },
};

export const terminateFields: Rule = {
  id: "terminate-fields",
  severity: "error",
  description: "TERMINATE has a literal terminationStatus COMPLETED, FAILED or TERMINATED and is not optional (the server refuses it otherwise)",
  types: ["TERMINATE"],
  registrationOnly: true,
  task(node, report) {
    const s = node.inputs.terminationStatus;
    if (!(typeof s === "string" && TERMINATION_STATUSES.includes(s))) {
      need(
        node,
        report,
        ["inputParameters", "terminationStatus"],
        `inputParameters.terminationStatus written as one of ${TERMINATION_STATUSES.join(", ")} (the server checks the literal value${isExpression(s) ? ", so an expression is refused" : ""})`,
        'add "terminationStatus": "COMPLETED" to inputParameters',
      );
    }
    if (node.task.optional === true) report([...node.path, "optional"], `TERMINATE "${node.here}" cannot be optional`, 'remove "optional": true');
  },
};

const HTTP_TOP_LEVEL_FROM = "3.22.1";

export const httpFields: Rule = {
  id: "http-fields",
  severity: "error",
  description: "HTTP has inputParameters.http_request (or, from Conductor 3.22.1, uri/method directly in inputParameters); the server refuses it otherwise",
  types: ["HTTP"],
  registrationOnly: true,
  task(node, report, model) {
    if ("http_request" in node.inputs) return;
    const topLevel = "uri" in node.inputs || "method" in node.inputs;
    if (topLevel && inRange(model.target.version, { from: HTTP_TOP_LEVEL_FROM })) return;
    if (topLevel) {
      report(
        [...node.path, "inputParameters"],
        `HTTP "${node.here}" puts uri/method directly in inputParameters, which Conductor accepts from ${HTTP_TOP_LEVEL_FROM}; Conductor ${model.target.version} refuses it at registration (it needs inputParameters.http_request)`,
        `move them into "http_request": { "uri": ..., "method": ... }, or target Conductor ${HTTP_TOP_LEVEL_FROM}+`,
      );
      return;
    }
    need(
      node,
      report,
      ["inputParameters", "http_request"],
      "inputParameters.http_request with a uri (and method)",
      'add "http_request": { "uri": "https://...", "method": "GET" } to inputParameters (or an inputTemplate with http_request in the task definition)',
    );
  },
};

/** A task that needs one input key, checked the way the server checks it (the key is present). */
function requiredInput(id: string, type: string, key: string, what: string, fix: string): Rule {
  return {
    id,
    severity: "error",
    description: `${type} has inputParameters.${key}; the server refuses it otherwise`,
    types: [type],
    registrationOnly: true,
    task(node, report) {
      if (!(key in node.inputs)) need(node, report, ["inputParameters", key], what, fix);
    },
  };
}

export const jqFields = requiredInput(
  "jq-fields",
  "JSON_JQ_TRANSFORM",
  "queryExpression",
  "inputParameters.queryExpression (a jq program)",
  'add "queryExpression": ".a + .b" to inputParameters',
);
export const kafkaFields = requiredInput(
  "kafka-fields",
  "KAFKA_PUBLISH",
  "kafka_request",
  "inputParameters.kafka_request",
  'add "kafka_request": { "topic": ..., "value": ..., "bootStrapServers": ... }',
);

export const eventFields: Rule = {
  id: "event-fields",
  severity: "error",
  description: "EVENT has a sink; the server refuses it otherwise",
  types: ["EVENT"],
  registrationOnly: true,
  task(node, report) {
    if (typeof node.task.sink !== "string") need(node, report, ["sink"], '"sink" (e.g. "conductor" or "sqs:queue")', 'add "sink": "conductor"');
  },
};

export const lambdaFields: Rule = {
  id: "lambda-fields",
  severity: "error",
  description: "LAMBDA has inputParameters.scriptExpression",
  types: ["LAMBDA"],
  task(node, report) {
    if (!isNonEmptyString(node.inputs.scriptExpression))
      need(
        node,
        report,
        ["inputParameters", "scriptExpression"],
        "inputParameters.scriptExpression",
        "add a scriptExpression, or better use INLINE (LAMBDA is deprecated)",
      );
  },
};

/** Conductor's DateTimeUtils.parseDuration: "30s", "1 hour 5 mins", "2d" (days, hours, minutes, seconds, in that order). */
const DURATION = /^\s*(?:(\d+)\s*(?:days?|d))?\s*(?:(\d+)\s*(?:hours?|hrs?|h))?\s*(?:(\d+)\s*(?:minutes?|mins?|m))?\s*(?:(\d+)\s*(?:seconds?|secs?|s))?\s*$/i;
/** DateTimeUtils.parseDate: "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm z", "yyyy-MM-dd". */
const UNTIL = /^\d{4}-\d{1,2}-\d{1,2}(?: \d{1,2}:\d{1,2}(?: \S+)?)?$/;

export const waitFields: Rule = {
  id: "wait-fields",
  severity: "error",
  description: 'WAIT has at most one of duration and until, each parsable ("10s", "1 hour 5 mins"; "2025-01-31 14:00 UTC"); the server refuses it otherwise',
  types: ["WAIT"],
  registrationOnly: true,
  task(node, report) {
    const text = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
    const duration = text(node.inputs.duration);
    const until = text(node.inputs.until);
    if (duration.trim() && until.trim()) {
      report([...node.path, "inputParameters"], `WAIT "${node.here}" gives both "duration" and "until": the server takes only one`, "keep one of them");
      return;
    }
    if (duration.trim() && !duration.startsWith("${")) {
      const m = DURATION.exec(duration);
      if (!m || m.slice(1).every((g) => g === undefined) || m.slice(1).some((g) => g !== undefined && Number(g) > 2 ** 31 - 1)) {
        report(
          [...node.path, "inputParameters", "duration"],
          `WAIT "${node.here}": duration ${JSON.stringify(node.inputs.duration)} does not parse (Conductor reads e.g. "30s", "5 minutes", "1h 30m", "2 days")`,
          'write e.g. "duration": "30s"',
        );
      }
    } else if (until.trim() && !until.startsWith("${") && !UNTIL.test(until.trim())) {
      report(
        [...node.path, "inputParameters", "until"],
        `WAIT "${node.here}": until ${JSON.stringify(node.inputs.until)} does not parse (Conductor reads "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm z" or "yyyy-MM-dd")`,
        'write e.g. "until": "2030-01-31 14:00 UTC"',
      );
    }
  },
};

export const TASK_FIELD_RULES: readonly Rule[] = [
  inlineFields,
  graaljsEvaluator,
  switchFields,
  switchParam,
  decisionFields,
  deprecatedDecision,
  forkFields,
  forkEmptyBranch,
  forkWithoutJoin,
  forkDynamicFields,
  forkDynamicParams,
  forkDynamicVersion,
  joinWithoutFork,
  joinOn,
  joinOnEmpty,
  exclusiveJoinFields,
  doWhileFields,
  doWhileEmptyCondition,
  subWorkflowFields,
  unknownSubWorkflow,
  startWorkflowFields,
  dynamicFields,
  terminateFields,
  httpFields,
  jqFields,
  kafkaFields,
  eventFields,
  lambdaFields,
  waitFields,
];
