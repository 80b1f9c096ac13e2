/** stallAwareTimeout: a timer that fires on time aborts; a parent signal aborts it too, until cleared. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, test } from "node:test";
import { stallAwareTimeout } from "../../src/runtime/stall.ts";

describe("stallAwareTimeout", () => {
  test("aborts when its time is up, and says it timed out", async () => {
    const t = stallAwareTimeout(20);
    await once(t.signal, "abort");
    assert.equal(t.timedOut, true);
    assert.match(String((t.signal.reason as Error).message), /no answer within 20 ms/);
  });

  test("a parent's abort ends it with the parent's reason (not a timeout)", () => {
    const parent = new AbortController();
    const t = stallAwareTimeout(60_000, undefined, parent.signal);
    assert.equal(t.signal.aborted, false);
    const why = new Error("closing");
    parent.abort(why);
    assert.equal(t.signal.aborted, true);
    assert.equal(t.signal.reason, why);
    assert.equal(t.timedOut, false);
    t.clear();
  });

  test("an already aborted parent aborts it at once; after clear() the parent no longer reaches it", () => {
    const t1 = stallAwareTimeout(60_000, undefined, AbortSignal.abort("gone"));
    assert.equal(t1.signal.aborted, true);
    assert.equal(t1.signal.reason, "gone");
    t1.clear();

    const parent = new AbortController();
    const t2 = stallAwareTimeout(60_000, undefined, parent.signal);
    t2.clear();
    parent.abort();
    assert.equal(t2.signal.aborted, false);
  });
});
