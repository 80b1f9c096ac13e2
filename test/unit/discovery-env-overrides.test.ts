import assert from "node:assert/strict";
import { test } from "node:test";
import { applyEnvOverrides, envTaskKeys } from "../../src/discovery/env-overrides.ts";

test("task-specific over ALL over the decorator; every documented prop", () => {
  const r = applyEnvOverrides(
    { name: "send-email", concurrency: 1, pollIntervalMs: 100, domain: "a" },
    {
      CONDUCTOR_WORKER_ALL_CONCURRENCY: "4",
      "CONDUCTOR_WORKER_send-email_CONCURRENCY": "9",
      CONDUCTOR_WORKER_ALL_POLL_INTERVAL: "250",
      CONDUCTOR_WORKER_SEND_EMAIL_DOMAIN: "eu",
      CONDUCTOR_WORKER_ALL_PAUSED: "yes",
      CONDUCTOR_WORKER_ALL_POLL_TIMEOUT: "5000",
      CONDUCTOR_WORKER_SEND_EMAIL_WORKER_ID: "box-1",
      CONDUCTOR_WORKER_ALL_EXEC_TIMEOUT: "2.5",
      CONDUCTOR_WORKER_ALL_LEASE_EXTEND_ENABLED: "true",
      CONDUCTOR_WORKER_OTHER_CONCURRENCY: "77",
    },
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.options, {
    name: "send-email",
    concurrency: 9,
    pollIntervalMs: 250,
    domain: "eu",
    paused: true,
    pollTimeoutMs: 5000,
    workerId: "box-1",
    execTimeoutSeconds: 2.5,
    leaseExtend: true,
  });
  assert.equal(r.applied.concurrency, "CONDUCTOR_WORKER_send-email_CONCURRENCY");
  assert.equal(r.applied.domain, "CONDUCTOR_WORKER_SEND_EMAIL_DOMAIN");
});

test("the Python SDK spellings work too", () => {
  const r = applyEnvOverrides({ name: "t" }, { CONDUCTOR_WORKER_T_THREAD_COUNT: "3", CONDUCTOR_WORKER_ALL_POLL_INTERVAL_MILLIS: "50" });
  assert.deepEqual(r.options, { name: "t", concurrency: 3, pollIntervalMs: 50 });
});

test("the decorator's values stay when nothing is set (empty values ignored)", () => {
  const r = applyEnvOverrides({ name: "t", concurrency: 2 }, { CONDUCTOR_WORKER_ALL_CONCURRENCY: "" });
  assert.deepEqual(r, { options: { name: "t", concurrency: 2 }, applied: {}, errors: [] });
});

test("bad values are errors naming the variable", () => {
  const r = applyEnvOverrides(
    { name: "greet" },
    {
      CONDUCTOR_WORKER_greet_CONCURRENCY: "abc",
      CONDUCTOR_WORKER_ALL_POLL_INTERVAL: "-1",
      CONDUCTOR_WORKER_ALL_PAUSED: "maybe",
      CONDUCTOR_WORKER_ALL_POLL_TIMEOUT: "9000",
      CONDUCTOR_WORKER_ALL_DOMAIN: "a b",
    },
  );
  assert.deepEqual(r.errors, [
    'CONDUCTOR_WORKER_ALL_POLL_INTERVAL must be an integer >= 0, got "-1"',
    'CONDUCTOR_WORKER_greet_CONCURRENCY must be an integer >= 1, got "abc"',
    'CONDUCTOR_WORKER_ALL_DOMAIN must be letters, digits, "_", "-" and "." only, got "a b"',
    'CONDUCTOR_WORKER_ALL_PAUSED must be true or false, got "maybe"',
    'CONDUCTOR_WORKER_ALL_POLL_TIMEOUT must be an integer from 0 to 5000, got "9000"',
  ]);
});

test("task keys: as written and upper-cased with _", () => {
  assert.deepEqual(envTaskKeys("fetch.url-v2"), ["fetch.url-v2", "FETCH_URL_V2"]);
  assert.deepEqual(envTaskKeys("ABC"), ["ABC"]);
});
