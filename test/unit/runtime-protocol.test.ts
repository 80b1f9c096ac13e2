/** The result protocol follows what the polls show about the queue (src/runtime/protocol.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MIN_POST_BATCH, ProtocolChooser } from "../../src/runtime/protocol.ts";

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
