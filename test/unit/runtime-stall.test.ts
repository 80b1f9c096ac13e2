/**
 * stallAwareTimeout: a timer that fires on time aborts; a parent signal aborts it too, until
 * cleared. A request can take the timer itself as its signal (listener objects, no AbortSignal);
 * the AbortSignal is made on first use and agrees with it.
 */
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

  test("as a request's signal: its listeners hear the time-out once; a removed one does not; .signal made afterwards agrees", async () => {
    const t = stallAwareTimeout(20);
    const heard: string[] = [];
    const a = { handleEvent: () => heard.push("a") };
    const b = { handleEvent: () => heard.push("b") };
    t.addEventListener("abort", a);
    t.addEventListener("abort", b);
    t.removeEventListener("abort", b);
    assert.equal(t.aborted, false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(heard, ["a"]);
    assert.equal(t.aborted, true);
    assert.equal(t.timedOut, true);
    assert.match(String((t.reason as Error).message), /no answer within 20 ms/);
    assert.equal(t.signal.aborted, true);
    assert.equal(t.signal.reason, t.reason);
  });

  test("as a request's signal: a parent's abort reaches its listeners with the parent's reason", () => {
    const parent = new AbortController();
    const t = stallAwareTimeout(60_000, undefined, parent.signal);
    let heard = 0;
    t.addEventListener("abort", { handleEvent: () => heard++ });
    parent.abort("closing");
    parent.abort("again");
    assert.equal(heard, 1);
    assert.equal(t.reason, "closing");
    assert.equal(t.timedOut, false);
    t.clear();
  });
});
