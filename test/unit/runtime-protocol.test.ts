/** The result protocol follows what the polls show about the queue (src/runtime/protocol.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
import { runWorkers } from "../../src/runtime/handler.ts";
import { MIN_POST_BATCH, ProtocolChooser } from "../../src/runtime/protocol.ts";
import { reg, tempStateDir, testLogger, until } from "../fixtures/runtime/helpers.ts";
import { HttpDouble } from "../support/http-double.ts";

describe("ProtocolChooser", () => {
  it("chains with update-v2 until a large poll comes back full, then posts until a poll comes back short", () => {
    const p = new ProtocolChooser();
    assert.equal(p.choose(), "update-v2");
    p.onPoll(1, 1); // a small full poll says nothing worth switching for
    p.onPoll(MIN_POST_BATCH - 1, MIN_POST_BATCH - 1);
    assert.equal(p.choose(), "update-v2");
    p.onPoll(MIN_POST_BATCH, MIN_POST_BATCH);
    assert.equal(p.queueLooksDeep, true);
    assert.equal(p.choose(), "post");
    p.onPoll(1, 1);
    assert.equal(p.choose(), "post");
    p.onPoll(4, 3);
    assert.equal(p.choose(), "update-v2");
    p.onPoll(1, 0);
    assert.equal(p.queueLooksDeep, false);
    assert.deepEqual(p.sent, { "update-v2": 3, post: 2 });
  });

  it("update-v2 answers that each bring a task, as many in a row as the worker has slots (at least MIN_POST_BATCH), make the queue deep", () => {
    const p = new ProtocolChooser();
    for (let i = 0; i < 49; i++) p.onChained(true, 50);
    assert.equal(p.choose(), "update-v2");
    p.onChained(false, 50); // an answer without a task starts the count again
    for (let i = 0; i < 49; i++) p.onChained(true, 50);
    assert.equal(p.choose(), "update-v2");
    p.onChained(true, 50);
    assert.equal(p.queueLooksDeep, true);
    assert.equal(p.choose(), "post");
    p.onPoll(3, 2);
    assert.equal(p.choose(), "update-v2");
    // Below MIN_POST_BATCH slots, chaining is the protocol of choice however deep the queue.
    const small = new ProtocolChooser();
    for (let i = 0; i < 1000; i++) small.onChained(true, MIN_POST_BATCH - 1);
    assert.equal(small.choose(), "update-v2");
  });

  it("a poll answered short while the queue is deep (SQLite's locked pop) does not leave the worker chaining update-v2 to the end", async () => {
    // A queue of 600 tasks behind a double of the task endpoints; the third poll is answered
    // with nothing, as Conductor's SQLite queue answers a pop that meets a locked database.
    const total = 600;
    let next = 0;
    let polls = 0;
    let spuriousAt = -1;
    const take = (n: number) => {
      const out = [];
      while (out.length < n && next < total) out.push({ taskId: `q${next++}`, workflowInstanceId: "w", taskType: "deep_task", status: "IN_PROGRESS" });
      return out;
    };
    const d = await HttpDouble.start();
    d.on("GET", /^\/api\/tasks\/poll\/batch\//, (req) => {
      polls++;
      if (polls === 3) {
        spuriousAt = d.requests.length - 1;
        return { json: [] };
      }
      return { json: take(Number(req.query.get("count"))) };
    });
    d.on("POST", "/api/tasks/update-v2", () => {
      const t = take(1);
      return t.length ? { json: t[0] } : { status: 204 };
    });
    d.on("POST", "/api/tasks", (req) => ({ text: (req.json as { taskId: string }).taskId })); // POST /tasks answers the task id (text)
    const client = new ConductorClient({ serverUrl: d.url });
    const run = await runWorkers({
      client,
      stateDir: tempStateDir(),
      handleSignals: false,
      logger: testLogger(),
      registrations: [reg("deep_task", async () => ({}), { concurrency: 20, pollIntervalMs: 10, pollTimeoutMs: 10 })],
    });
    await until(() => run.stats().delivery.delivered >= total, 20_000, "every task's result delivered");
    await run.stop();
    client.close();
    await d.close();
    assert.ok(spuriousAt >= 0, "the third poll was answered empty");
    const after = d.requests.slice(spuriousAt + 1).map((r) => r.path);
    const posts = after.filter((p) => p === "/api/tasks").length;
    const v2 = after.filter((p) => p === "/api/tasks/update-v2").length;
    // Back on POST /tasks after at most one round of update-v2 answers per slot, not chaining to the end.
    assert.ok(posts > total / 2, `after the empty poll: ${posts} results by POST /tasks, ${v2} by update-v2`);
  });

  it("IDFLOW_RESULT_PROTOCOL pins one protocol; a wrong value is an error naming the variable", () => {
    const v2 = ProtocolChooser.fromEnv({ IDFLOW_RESULT_PROTOCOL: "update-v2" });
    v2.onPoll(50, 50);
    assert.equal(v2.choose(), "update-v2");
    const post = ProtocolChooser.fromEnv({ IDFLOW_RESULT_PROTOCOL: "post" });
    assert.equal(post.choose(), "post");
    assert.equal(ProtocolChooser.fromEnv({}).mode, "adaptive");
    assert.throws(() => ProtocolChooser.fromEnv({ IDFLOW_RESULT_PROTOCOL: "v3" }), /IDFLOW_RESULT_PROTOCOL="v3" is not one of adaptive, update-v2, post/);
  });
});
