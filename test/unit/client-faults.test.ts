/** The Conductor client's fault handling and auth, against the in-process HTTP double. */
import assert from "node:assert/strict";
import net from "node:net";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, test } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
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
