import assert from "node:assert/strict";
import { test } from "node:test";
import { sameDefinition } from "../../src/upload/compare.ts";

// What Conductor 3.21.14 answered to GET /metadata/workflow/probe_w2 after PUT of `sentWf`.
const sentWf = {
  name: "probe_w2",
  version: 1,
  schemaVersion: 2,
  inputParameters: ["text"],
  tasks: [{ name: "probe_t1", taskReferenceName: "a", type: "SIMPLE", inputParameters: { x: "${workflow.input.text}" } }],
};
const serverWf = {
  createTime: 0,
  updateTime: 1795379247964,
  name: "probe_w2",
  version: 1,
  tasks: [
    {
      name: "probe_t1",
      taskReferenceName: "a",
      inputParameters: { x: "${workflow.input.text}" },
      type: "SIMPLE",
      decisionCases: {},
      defaultCase: [],
      forkTasks: [],
      startDelay: 0,
      joinOn: [],
      optional: false,
      defaultExclusiveJoinTask: [],
      asyncComplete: false,
      loopOver: [],
      onStateChange: {},
      permissive: false,
    },
  ],
  inputParameters: ["text"],
  outputParameters: {},
  schemaVersion: 2,
  restartable: true,
  workflowStatusListenerEnabled: false,
  timeoutPolicy: "ALERT_ONLY",
  timeoutSeconds: 0,
  variables: {},
  inputTemplate: {},
  enforceSchema: true,
  metadata: {},
};
// GET /metadata/taskdefs/probe_t1 after POST of `sentTask`.
const sentTask = { name: "probe_t1", timeoutSeconds: 0, description: "b" };
const serverTask = {
  createTime: 1795379247481,
  updateTime: 0,
  createdBy: "",
  name: "probe_t1",
  description: "b",
  retryCount: 3,
  timeoutSeconds: 0,
  inputKeys: [],
  outputKeys: [],
  timeoutPolicy: "TIME_OUT_WF",
  retryLogic: "FIXED",
  retryDelaySeconds: 60,
  responseTimeoutSeconds: 3600,
  inputTemplate: {},
  rateLimitPerFrequency: 0,
  rateLimitFrequencyInSeconds: 1,
  backoffScaleFactor: 1,
  totalTimeoutSeconds: 0,
  enforceSchema: false,
};

test("what the server filled in by itself does not count as a change", () => {
  assert.equal(sameDefinition(sentWf, serverWf, "workflowDef"), true);
  assert.equal(sameDefinition(sentTask, serverTask, "taskDef"), true);
});

test("a changed value, a removed field with a non-default value, or a removed input parameter is a change", () => {
  assert.equal(sameDefinition({ ...sentTask, description: "c" }, serverTask, "taskDef"), false);
  assert.equal(sameDefinition(sentTask, { ...serverTask, retryCount: 0 }, "taskDef"), false);
  assert.equal(sameDefinition(sentWf, { ...serverWf, timeoutPolicy: "TIME_OUT_WF" }, "workflowDef"), false);
  const extraInput = structuredClone(serverWf);
  (extraInput.tasks[0].inputParameters as Record<string, string>).y = "old";
  assert.equal(sameDefinition(sentWf, extraInput, "workflowDef"), false);
  const optional = structuredClone(serverWf);
  optional.tasks[0].optional = true;
  assert.equal(sameDefinition(sentWf, optional, "workflowDef"), false);
  const moreTasks = structuredClone(serverWf);
  moreTasks.tasks.push(structuredClone(moreTasks.tasks[0]));
  assert.equal(sameDefinition(sentWf, moreTasks, "workflowDef"), false);
});

test("a switch case the server has and we removed is a change, even when empty", () => {
  const sw = (cases: Record<string, unknown[]>) => ({
    name: "w",
    version: 1,
    tasks: [{ name: "s", taskReferenceName: "s", type: "SWITCH", evaluatorType: "value-param", expression: "x", decisionCases: cases }],
  });
  assert.equal(sameDefinition(sw({ a: [] }), sw({ a: [] }), "workflowDef"), true);
  assert.equal(sameDefinition(sw({ a: [] }), sw({ a: [], b: [] }), "workflowDef"), false);
});

test("key order does not matter", () => {
  const reordered = Object.fromEntries(Object.entries(serverWf).reverse());
  assert.equal(sameDefinition(sentWf, reordered, "workflowDef"), true);
});

// What Conductor 3.32.3 answered to GET /metadata/taskdefs/draft_outline_x after POST of the same definition.
test("3.32's extra task-definition fields at their defaults (taskStatusListenerEnabled true, runtimeMetadata [], ...) are not a change", () => {
  const sent = {
    name: "draft_outline_x",
    description: "d",
    retryCount: 1,
    timeoutSeconds: 30,
    responseTimeoutSeconds: 30,
    inputKeys: ["title", "keywords"],
    outputKeys: ["outline"],
    retryLogic: "FIXED",
    retryDelaySeconds: 5,
    timeoutPolicy: "TIME_OUT_WF",
  };
  const server332 = {
    createTime: 1795570161529,
    updateTime: 0,
    createdBy: "",
    name: "draft_outline_x",
    description: "d",
    retryCount: 1,
    timeoutSeconds: 30,
    inputKeys: ["title", "keywords"],
    outputKeys: ["outline"],
    runtimeMetadata: [],
    timeoutPolicy: "TIME_OUT_WF",
    retryLogic: "FIXED",
    retryDelaySeconds: 5,
    responseTimeoutSeconds: 30,
    inputTemplate: {},
    rateLimitPerFrequency: 0,
    rateLimitFrequencyInSeconds: 1,
    backoffScaleFactor: 1,
    maxRetryDelaySeconds: 0,
    backoffJitterMs: 0,
    totalTimeoutSeconds: 0,
    taskStatusListenerEnabled: true,
    enforceSchema: false,
  };
  assert.equal(sameDefinition(sent, server332, "taskDef"), true);
  assert.equal(sameDefinition(sent, { ...server332, taskStatusListenerEnabled: false }, "taskDef"), false, "someone switched the listener off: a change");
});
