import assert from "node:assert/strict";
import { test } from "node:test";
import { toTaskDef } from "../../src/discovery/task-def.ts";
import { TASK_DEFAULTS, type WorkerTaskOptions } from "../../src/task/options.ts";
import type { Registration } from "../../src/task/registration.ts";

const reg = (options: WorkerTaskOptions): Registration => ({
  name: options.name,
  domain: options.domain,
  options,
  fn: async () => ({}),
  sourceFile: "/p/tasks/x/x.ts",
});

test("defaults: only the name given -> TASK_DEFAULTS, optional fields left out", () => {
  assert.deepEqual(toTaskDef(reg({ name: "t" })), {
    name: "t",
    retryCount: 3,
    retryLogic: "FIXED",
    retryDelaySeconds: 5,
    backoffScaleFactor: 1,
    timeoutSeconds: 0,
    timeoutPolicy: "TIME_OUT_WF",
    responseTimeoutSeconds: 600,
    concurrentExecLimit: 0,
    rateLimitPerFrequency: 0,
    rateLimitFrequencyInSeconds: 1,
  });
  assert.equal(TASK_DEFAULTS.retryDelaySeconds, 5);
});

test("every task-definition option maps to its TaskDef field; worker-only options do not leak", () => {
  const schemaIn = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };
  const schemaOut = { type: "object" };
  const def = toTaskDef(
    reg({
      name: "full",
      domain: "eu",
      description: "d",
      retryCount: 0,
      retryLogic: "LINEAR_BACKOFF",
      retryDelaySeconds: 7,
      backoffScaleFactor: 3,
      timeoutSeconds: 120,
      timeoutPolicy: "RETRY",
      responseTimeoutSeconds: 30,
      pollTimeoutSeconds: 15,
      concurrentExecLimit: 4,
      rateLimitPerFrequency: 10,
      rateLimitFrequencyInSeconds: 60,
      inputKeys: ["a"],
      outputKeys: ["b"],
      inputTemplate: { a: "x" },
      ownerEmail: "me@example.com",
      inputSchema: schemaIn,
      outputSchema: schemaOut,
      concurrency: 9,
      pollIntervalMs: 1,
      pollTimeoutMs: 2,
      workerId: "w",
      execTimeoutSeconds: 3,
      leaseExtend: true,
      isolation: "thread",
      paused: true,
    }),
  );
  assert.deepEqual(def, {
    name: "full",
    description: "d",
    retryCount: 0,
    retryLogic: "LINEAR_BACKOFF",
    retryDelaySeconds: 7,
    backoffScaleFactor: 3,
    timeoutSeconds: 120,
    timeoutPolicy: "RETRY",
    responseTimeoutSeconds: 30,
    pollTimeoutSeconds: 15,
    concurrentExecLimit: 4,
    rateLimitPerFrequency: 10,
    rateLimitFrequencyInSeconds: 60,
    inputKeys: ["a"],
    outputKeys: ["b"],
    inputTemplate: { a: "x" },
    ownerEmail: "me@example.com",
    inputSchema: { name: "full_input", version: 1, type: "JSON", data: schemaIn },
    outputSchema: { name: "full_output", version: 1, type: "JSON", data: schemaOut },
  });
});

test("the TaskDef is a copy: mutating it does not touch the registration", () => {
  const options: WorkerTaskOptions = { name: "c", inputKeys: ["a"], inputTemplate: { a: { b: 1 } }, inputSchema: { type: "object" } };
  const def = toTaskDef(reg(options));
  (def.inputKeys as string[]).push("z");
  (def.inputTemplate as { a: { b: number } }).a.b = 2;
  assert.deepEqual(options.inputKeys, ["a"]);
  assert.deepEqual(options.inputTemplate, { a: { b: 1 } });
  assert.equal(JSON.stringify(def), JSON.stringify(toTaskDef(reg({ ...options, inputKeys: ["a", "z"], inputTemplate: { a: { b: 2 } } }))));
});
