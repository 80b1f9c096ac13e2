import assert from "node:assert/strict";
import { test } from "node:test";
import { OPTION_RULES, validateOptions } from "../../src/task/validate-options.ts";

test("valid options, including every option at a sensible value, have no problems", () => {
  assert.deepEqual(validateOptions({ name: "ok" }), []);
  assert.deepEqual(
    validateOptions({
      name: "ok.v2-x",
      domain: "eu_1",
      description: "",
      retryCount: 0,
      retryLogic: "LINEAR_BACKOFF",
      retryDelaySeconds: 0,
      backoffScaleFactor: 2,
      timeoutSeconds: 60,
      timeoutPolicy: "ALERT_ONLY",
      responseTimeoutSeconds: 60,
      pollTimeoutSeconds: 0,
      concurrentExecLimit: 0,
      rateLimitPerFrequency: 0,
      rateLimitFrequencyInSeconds: 1,
      inputKeys: [],
      outputKeys: ["a"],
      inputTemplate: { a: 1 },
      ownerEmail: "a@b.c",
      inputSchema: { type: "object" },
      outputSchema: { type: ["object", "null"] },
      concurrency: 1,
      pollIntervalMs: 0,
      pollTimeoutMs: 5000,
      workerId: "w-1",
      execTimeoutSeconds: 0.5,
      leaseExtend: false,
      isolation: "thread",
      paused: false,
    }),
    [],
  );
});

const cases: Array<[string, Record<string, unknown>, string]> = [
  ["missing name", {}, 'name is required (the Conductor task type, e.g. { name: "my_task" })'],
  ["name with a space", { name: "my task" }, 'name must use only letters, digits, "_", "-" and "." (no spaces), got "my task"'],
  ["domain with a colon", { name: "t", domain: "a:b" }, 'domain must use only letters, digits, "_", "-" and "." (no spaces), got "a:b"'],
  ["description not a string", { name: "t", description: 3 }, "description must be a string, got 3"],
  ["negative retryCount", { name: "t", retryCount: -1 }, "retryCount must be an integer >= 0, got -1"],
  ["fractional retryCount", { name: "t", retryCount: 1.5 }, "retryCount must be an integer >= 0, got 1.5"],
  ["unknown retryLogic", { name: "t", retryLogic: "SOMETIMES" }, 'retryLogic must be one of FIXED, LINEAR_BACKOFF, EXPONENTIAL_BACKOFF, got "SOMETIMES"'],
  ["negative retryDelaySeconds", { name: "t", retryDelaySeconds: -5 }, "retryDelaySeconds must be an integer >= 0, got -5"],
  ["backoffScaleFactor 0", { name: "t", retryLogic: "LINEAR_BACKOFF", backoffScaleFactor: 0 }, "backoffScaleFactor must be an integer >= 1, got 0"],
  ["string timeoutSeconds", { name: "t", timeoutSeconds: "60" }, 'timeoutSeconds must be an integer >= 0, got "60"'],
  ["unknown timeoutPolicy", { name: "t", timeoutPolicy: "PANIC" }, 'timeoutPolicy must be one of RETRY, TIME_OUT_WF, ALERT_ONLY, got "PANIC"'],
  ["responseTimeoutSeconds 0", { name: "t", responseTimeoutSeconds: 0 }, "responseTimeoutSeconds must be an integer >= 1, got 0"],
  ["negative pollTimeoutSeconds", { name: "t", pollTimeoutSeconds: -1 }, "pollTimeoutSeconds must be an integer >= 0, got -1"],
  ["negative concurrentExecLimit", { name: "t", concurrentExecLimit: -2 }, "concurrentExecLimit must be an integer >= 0, got -2"],
  ["negative rateLimitPerFrequency", { name: "t", rateLimitPerFrequency: -1 }, "rateLimitPerFrequency must be an integer >= 0, got -1"],
  ["rateLimitFrequencyInSeconds 0", { name: "t", rateLimitFrequencyInSeconds: 0 }, "rateLimitFrequencyInSeconds must be an integer >= 1, got 0"],
  ["inputKeys not strings", { name: "t", inputKeys: ["a", 1] }, 'inputKeys must be an array of strings, got ["a",1]'],
  ["outputKeys a string", { name: "t", outputKeys: "a" }, 'outputKeys must be an array of strings, got "a"'],
  ["inputTemplate an array", { name: "t", inputTemplate: [1] }, "inputTemplate must be a plain object, got [1]"],
  ["ownerEmail not an address", { name: "t", ownerEmail: "me" }, 'ownerEmail must be an e-mail address, got "me"'],
  ["inputSchema not an object", { name: "t", inputSchema: "object" }, 'inputSchema must be a JSON Schema object, a plain object, got "object"'],
  [
    "outputSchema with a bad type",
    { name: "t", outputSchema: { type: "thing" } },
    'outputSchema must be a JSON Schema: "type" must be one of object, array, string, number, integer, boolean, null, got "thing"',
  ],
  ["concurrency 0", { name: "t", concurrency: 0 }, "concurrency must be an integer >= 1, got 0"],
  ["negative pollIntervalMs", { name: "t", pollIntervalMs: -100 }, "pollIntervalMs must be an integer >= 0, got -100"],
  ["pollTimeoutMs above Conductor's 5000", { name: "t", pollTimeoutMs: 5001 }, "pollTimeoutMs must be an integer from 0 to 5000, got 5001"],
  ["empty workerId", { name: "t", workerId: " " }, 'workerId must be a non-empty string, got " "'],
  ["negative execTimeoutSeconds", { name: "t", execTimeoutSeconds: -1 }, "execTimeoutSeconds must be a number >= 0, got -1"],
  ["leaseExtend a string", { name: "t", leaseExtend: "yes" }, 'leaseExtend must be true or false, got "yes"'],
  ["negative checkpointIntervalMs", { name: "t", checkpointIntervalMs: -5 }, "checkpointIntervalMs must be an integer >= 0, got -5"],
  ["unknown isolation", { name: "t", isolation: "process" }, 'isolation must be one of none, thread, got "process"'],
  ["paused a number", { name: "t", paused: 1 }, "paused must be true or false, got 1"],
  [
    "responseTimeout above timeout",
    { name: "t", timeoutSeconds: 10, responseTimeoutSeconds: 11 },
    "responseTimeoutSeconds (11) must be <= timeoutSeconds (10) when timeoutSeconds > 0",
  ],
  [
    "timeout below the default responseTimeout",
    { name: "t", timeoutSeconds: 30 },
    "timeoutSeconds (30) is below the default responseTimeoutSeconds (600); set responseTimeoutSeconds <= timeoutSeconds",
  ],
  [
    "backoffScaleFactor without LINEAR_BACKOFF",
    { name: "t", backoffScaleFactor: 2 },
    'backoffScaleFactor only applies with retryLogic LINEAR_BACKOFF (retryLogic is "FIXED")',
  ],
  ["a typo", { name: "t", retrys: 2 }, 'unknown option "retrys" (did you mean retryCount?)'],
];

for (const [title, options, expected] of cases) {
  test(`invalid: ${title}`, () => {
    assert.deepEqual(validateOptions(options), [expected]);
  });
}

test("every declared option has a rule and an invalid-value case above", () => {
  const covered = new Set(cases.flatMap(([, o]) => Object.keys(o)));
  for (const key of Object.keys(OPTION_RULES)) assert.ok(covered.has(key), `no invalid case for ${key}`);
});

test("options that are not an object", () => {
  assert.deepEqual(validateOptions(undefined), ['options must be an object like { name: "my_task" }, got undefined']);
  assert.deepEqual(validateOptions("greet"), ['options must be an object like { name: "my_task" }, got "greet"']);
});
