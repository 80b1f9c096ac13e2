/** The Conductor client's fault handling and auth, against the in-process HTTP double. */
import assert from "node:assert/strict";
import net from "node:net";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, test } from "node:test";
import { ConductorClient, parseBody } from "../../src/conductor/client.ts";
import { ConductorError } from "../../src/conductor/errors.ts";
import { HttpDouble } from "../support/http-double.ts";

const SECRET = "s3cr3t-value-never-shown";
let double: HttpDouble;
let client: ConductorClient | undefined;
beforeEach(async () => {
  double = await HttpDouble.start();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await double.close();
});

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe("ConductorClient faults", () => {
  test("connection refused says where, and how to start a server", async () => {
    const port = await closedPort();
    client = new ConductorClient({ serverUrl: `http://127.0.0.1:${port}` });
    await assert.rejects(client.getTaskDefs(), (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.unreachable, true);
      assert.equal(err.transient, true);
      assert.equal(err.code, "ECONNREFUSED");
      assert.match(err.message, new RegExp(`^cannot reach Conductor at http://127\\.0\\.0\\.1:${port} \\(GET /api/metadata/taskdefs: ECONNREFUSED`));
      assert.match(err.message, /is it running\? start one with `idflow server start`/);
      return true;
    });
    assert.equal(await client.healthy(500), false, "healthy() never throws");
  });

  test("a server that does not answer in time, and a dropped connection", async () => {
    double.on("GET", "/api/metadata/taskdefs", "hang").on("GET", "/api/tasks/t1", "drop");
    client = new ConductorClient({ serverUrl: double.url, timeoutMs: 300 });
    await assert.rejects(client.getTaskDefs(), /cannot reach Conductor at .*it did not answer in time/);
    await assert.rejects(
      client.getTask("t1"),
      (err: unknown) => err instanceof ConductorError && err.unreachable && /ECONNRESET|socket hang up/.test(err.message),
    );
  });

  test("a 500 keeps Conductor's message and counts as transient; 404 on a lookup is undefined", async () => {
    double.on("GET", /^\/api\/tasks\/poll\/batch\//, { status: 500, json: { status: 500, message: "database is locked", retryable: true } });
    double.on("GET", "/api/metadata/taskdefs/nope", { status: 404, json: { status: 404, message: "No such taskType found by name: nope" } });
    client = new ConductorClient({ serverUrl: double.url });
    await assert.rejects(client.batchPoll("x", { count: 2, timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.status, 500);
      assert.equal(err.transient, true);
      assert.equal(err.serverMessage, "database is locked");
      assert.match(err.message, /^Conductor answered 500 to GET \/api\/tasks\/poll\/batch\/x: database is locked/);
      return true;
    });
    assert.equal(await client.getTaskDef("nope"), undefined);
  });

  test("validation errors are listed in the message", async () => {
    double.on("POST", "/api/metadata/taskdefs", {
      status: 400,
      json: {
        status: 400,
        message: "Validation failed, check below errors for detail.",
        validationErrors: [{ path: "registerTaskDef.taskDefinitions[0].responseTimeoutSeconds", message: "must be at least 1", invalidValue: 0 }],
      },
    });
    client = new ConductorClient({ serverUrl: double.url });
    await assert.rejects(client.registerTaskDefs([{ name: "x", timeoutSeconds: 1, responseTimeoutSeconds: 0 }]), (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.validationErrors.length, 1);
      assert.match(err.message, /Validation failed[^\n]*\n {2}- registerTaskDef\.taskDefinitions\[0\]\.responseTimeoutSeconds: must be at least 1 \(got 0\)/);
      return true;
    });
  });

  test("the URL works with or without /api and a trailing slash", async () => {
    double.on("GET", "/api/metadata/taskdefs", { json: [] });
    for (const url of [double.url, `${double.url}/`, `${double.url}/api`, `${double.url}/api/`]) {
      const c = new ConductorClient({ serverUrl: url });
      assert.deepEqual(await c.getTaskDefs(), []);
      c.close();
    }
    assert.deepEqual(
      double.requests.map((r) => r.path),
      Array(4).fill("/api/metadata/taskdefs"),
    );
  });

  test("update-v2 falls back on servers without it", async () => {
    double.on("POST", "/api/tasks/update-v2", { status: 405, json: { status: 405, message: "Request method 'POST' is not supported" } });
    client = new ConductorClient({ serverUrl: double.url });
    await assert.rejects(client.updateTaskV2({ taskId: "t", workflowInstanceId: "w", status: "COMPLETED" }), { name: "UpdateV2Unsupported" });
  });
});

describe("ConductorClient wire", () => {
  test("a timeout and a cancellation are told apart; a poll's own request timeout applies", async () => {
    double.on("GET", /^\/api\/tasks\/poll\/batch\//, "hang");
    client = new ConductorClient({ serverUrl: double.url, timeoutMs: 60_000 });
    await assert.rejects(client.batchPoll("slow", { timeoutMs: 100, requestTimeoutMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.code, "ETIMEDOUT");
      assert.equal(err.transient, true);
      assert.match(err.message, /GET \/api\/tasks\/poll\/batch\/slow: it did not answer in time/);
      return true;
    });
    const ac = new AbortController();
    const pending = client.batchPoll("slow", { timeoutMs: 100, requestTimeoutMs: 0, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.code, "ABORTED");
      assert.equal(err.message, "GET /api/tasks/poll/batch/slow was cancelled");
      return true;
    });
    // A signal that is already aborted: cancelled before anything is sent.
    await assert.rejects(client.updateTask({ taskId: "t", workflowInstanceId: "w", status: "COMPLETED" }, AbortSignal.abort()), { code: "ABORTED" });
    assert.equal(double.calls("POST", "/api/tasks").length, 0, "nothing was sent");
  });

  test("a connection the server closes is a transient ECONNRESET, and the next call opens a new one", async () => {
    let drop = true;
    double.on("POST", "/api/tasks", () => {
      if (drop) {
        drop = false;
        return "drop";
      }
      return { text: "ok" };
    });
    client = new ConductorClient({ serverUrl: double.url });
    const result = { taskId: "t", workflowInstanceId: "w", status: "COMPLETED" as const };
    await assert.rejects(client.updateTask(result), (err: unknown) => {
      assert.ok(err instanceof ConductorError);
      assert.equal(err.code, "ECONNRESET");
      assert.equal(err.unreachable, true);
      assert.equal(err.transient, true);
      return true;
    });
    await client.updateTask(result);
    assert.equal(double.calls("POST", "/api/tasks").length, 2);
  });

  test("text/plain ids, query strings, a base path and no redirects", async () => {
    double.on("POST", "/conductor/api/workflow/wf%20one", { text: "3f6c-id" });
    double.on("GET", "/conductor/api/workflow/search", { json: { totalHits: 0, results: [] } });
    double.on("GET", "/conductor/api/metadata/taskdefs", { status: 302, headers: { location: "/elsewhere" } });
    client = new ConductorClient({ serverUrl: `${double.url}/conductor/api/` });
    assert.equal(await client.startWorkflow("wf one", { a: 1 }, { correlationId: "c&d=e", version: 2 }), "3f6c-id");
    const start = double.calls("POST", "/conductor/api/workflow/wf%20one")[0];
    assert.deepEqual(start.json, { a: 1 });
    assert.equal(start.headers["content-type"], "application/json");
    assert.deepEqual(Object.fromEntries(start.query), { version: "2", correlationId: "c&d=e" });
    await client.searchWorkflows({ query: "status IN (RUNNING)", size: 5 });
    assert.deepEqual(Object.fromEntries(double.calls("GET", "/conductor/api/workflow/search")[0].query), { query: "status IN (RUNNING)", size: "5" });
    await assert.rejects(client.getTaskDefs(), (err: unknown) => err instanceof ConductorError && err.status === 302);
    assert.equal(double.calls("GET", "/elsewhere").length, 0, "the redirect is not followed");
  });

  test("answers: JSON parsed, plain-text ids kept as text (JSON.parse is not tried on what cannot be JSON)", () => {
    const cases: Array<[string, unknown]> = [
      ["", undefined],
      ["3f6c2a1b-9d4e-4c1a-8f00-1234567890ab", "3f6c2a1b-9d4e-4c1a-8f00-1234567890ab"],
      ["0123", "0123"],
      ["12e", "12e"],
      ["null-ish", "null-ish"],
      ["42", 42],
      [" -1.5e3\n", -1500],
      ["true", true],
      ["null", null],
      ['"quoted"', "quoted"],
      [' {"a":[1,2]} ', { a: [1, 2] }],
      ["[]", []],
      ["{not json", "{not json"],
    ];
    for (const [text, value] of cases) assert.deepEqual(parseBody(text), value, JSON.stringify(text));
    // Every text JSON.parse accepts still parses to the same value.
    for (const v of [0, -0.25, 1e21, "x", [1, { b: null }], { c: "d" }, false]) assert.deepEqual(parseBody(JSON.stringify(v)), v);
  });

  test("close() ends a call in flight as unreachable, and the client still works afterwards", async () => {
    double.on("GET", /^\/api\/tasks\/poll\/batch\//, "hang").on("GET", "/api/metadata/taskdefs", { json: [] });
    client = new ConductorClient({ serverUrl: double.url });
    const pending = client.batchPoll("x", { timeoutMs: 100, requestTimeoutMs: 0 });
    while (!double.calls("GET", /^\/api\/tasks\/poll\/batch\//).length) await new Promise((r) => setTimeout(r, 10));
    client.close();
    await assert.rejects(pending, (err: unknown) => err instanceof ConductorError && err.unreachable && err.code === "ECONNRESET");
    assert.deepEqual(await client.getTaskDefs(), []);
  });
});

describe("ConductorClient calls reject, never throw", () => {
  test("data JSON cannot carry, and a token source that throws, reject the call's promise; nothing is sent", async () => {
    double.on("POST", "/api/tasks", { text: "t1" });
    client = new ConductorClient({ serverUrl: double.url });
    const circular: Record<string, unknown> = { taskId: "t1", workflowInstanceId: "w1", status: "COMPLETED" };
    circular.outputData = circular;
    let call: Promise<unknown> | undefined;
    assert.doesNotThrow(() => (call = client!.updateTask(circular as never)));
    await assert.rejects(call!, /circular/i);

    const throwing = new ConductorClient({
      serverUrl: double.url,
      tokenSource: {
        token() {
          throw new Error("no token today");
        },
      },
    });
    try {
      assert.doesNotThrow(() => (call = throwing.updateTask({ taskId: "t1", workflowInstanceId: "w1", status: "COMPLETED" })));
      await assert.rejects(call!, /no token today/);
    } finally {
      throwing.close();
    }
    assert.equal(double.calls("POST", "/api/tasks").length, 0);
  });
});

describe("ConductorClient auth", () => {
  test("fetches a token once, sends it as X-Authorization, refreshes once on EXPIRED_TOKEN", async () => {
    let issued = 0;
    double.on("POST", "/api/token", () => ({ json: { token: `tok-${++issued}` } }));
    let expireNext = true;
    double.on("GET", "/api/metadata/taskdefs", (req) => {
      if (req.headers["x-authorization"] === "tok-1" && expireNext) {
        expireNext = false;
        return { status: 401, json: { error: "EXPIRED_TOKEN", message: "Token has expired" } };
      }
      return { json: [{ name: "a", timeoutSeconds: 0 }] };
    });
    client = new ConductorClient({ serverUrl: double.url, auth: { keyId: "key", keySecret: SECRET } });
    const defs = await client.getTaskDefs();
    assert.deepEqual(
      defs.map((d) => d.name),
      ["a"],
    );
    const tokenCalls = double.calls("POST", "/api/token");
    assert.equal(tokenCalls.length, 2, "one token, then one refresh");
    assert.deepEqual(tokenCalls[0].json, { keyId: "key", keySecret: SECRET });
    assert.deepEqual(
      double.calls("GET", "/api/metadata/taskdefs").map((r) => r.headers["x-authorization"]),
      ["tok-1", "tok-2"],
    );
    await client.getTaskDefs();
    assert.equal(double.calls("POST", "/api/token").length, 2, "the token is reused");
  });

  test("a token that stays invalid is refreshed only once, then the 401 is reported", async () => {
    double.on("POST", "/api/token", { json: { token: "tok" } });
    double.on("GET", "/api/metadata/taskdefs", { status: 401, json: { error: "INVALID_TOKEN", message: "invalid token" } });
    client = new ConductorClient({ serverUrl: double.url, auth: { keyId: "key", keySecret: SECRET } });
    await assert.rejects(client.getTaskDefs(), (err: unknown) => err instanceof ConductorError && err.status === 401 && /CONDUCTOR_AUTH_KEY/.test(err.message));
    assert.equal(double.calls("GET", "/api/metadata/taskdefs").length, 2);
    assert.equal(double.calls("POST", "/api/token").length, 2);
  });

  test("/token 404 means an OSS server: no auth header from then on", async () => {
    double.on("POST", "/api/token", { status: 404, json: { message: "not found" } });
    double.on("GET", "/api/metadata/taskdefs", { json: [] });
    client = new ConductorClient({ serverUrl: double.url, auth: { keyId: "key", keySecret: SECRET } });
    await client.getTaskDefs();
    await client.getTaskDefs();
    assert.equal(double.calls("POST", "/api/token").length, 1);
    assert.deepEqual(
      double.calls("GET", "/api/metadata/taskdefs").map((r) => r.headers["x-authorization"]),
      [undefined, undefined],
    );
  });

  test("the secret never appears in an error, even when the server echoes it", async () => {
    double.on("POST", "/api/token", (req) => ({ status: 401, json: { message: `bad credentials for ${JSON.stringify(req.json)}` } }));
    client = new ConductorClient({ serverUrl: double.url, auth: { keyId: "key", keySecret: SECRET } });
    const err = await client.getTaskDefs().then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConductorError);
    assert.match((err as Error).message, /^authentication failed: POST \/api\/token answered 401/);
    assert.doesNotMatch((err as Error).message, new RegExp(SECRET));
    assert.doesNotMatch(inspect(err, { depth: 10 }), new RegExp(SECRET));

    // And when the token call cannot connect at all.
    const port = await closedPort();
    const c = new ConductorClient({ serverUrl: `http://127.0.0.1:${port}`, auth: { keyId: "key", keySecret: SECRET } });
    const err2 = await c.getTaskDefs().then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e,
    );
    c.close();
    assert.ok(err2 instanceof ConductorError);
    assert.match((err2 as Error).message, /^cannot reach Conductor at .*POST \/api\/token: ECONNREFUSED/);
    assert.doesNotMatch(inspect(err2, { depth: 10 }), new RegExp(SECRET));
  });
});
