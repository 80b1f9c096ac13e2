/** InFlight (src/runtime/in-flight.ts) and AbortGroup (src/runtime/abort-group.ts): what is under way, without a Map, Set or EventTarget. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AbortGroup } from "../../src/runtime/abort-group.ts";
import { InFlight } from "../../src/runtime/in-flight.ts";
import { stallAwareTimeout } from "../../src/runtime/stall.ts";

describe("InFlight", () => {
  it("keeps what was added, in order, until it is removed; a removed entry lets go of its value and neighbours", () => {
    const list = new InFlight<string>();
    const a = list.add("a");
    const b = list.add("b");
    const c = list.add("c");
    assert.equal(list.size, 3);
    assert.deepEqual(list.values(), ["a", "b", "c"]);
    assert.equal(list.remove(b), true);
    assert.equal(list.remove(b), false, "removing twice is a no-op");
    assert.equal(b.value, undefined);
    assert.equal(b.prev, undefined);
    assert.equal(b.next, undefined);
    assert.deepEqual([...list], ["a", "c"]);
    assert.equal(
      list.find((v) => v === "c"),
      "c",
    );
    assert.equal(
      list.find((v) => v === "b"),
      undefined,
    );
    list.remove(a);
    list.remove(c);
    assert.equal(list.size, 0);
    assert.deepEqual(list.values(), []);
    list.add("d");
    assert.deepEqual(list.values(), ["d"], "the list works again after it was emptied");
    assert.equal(new InFlight<string>().remove(a), false, "an entry of another list is not taken");
  });

  it("can be changed while it is gone through (values() is a copy)", () => {
    const list = new InFlight<number>();
    const entries = [1, 2, 3, 4].map((v) => list.add(v));
    const seen: number[] = [];
    for (const v of list) {
      seen.push(v);
      list.remove(entries[v - 1]!);
      if (v === 2) list.remove(entries[2]!);
    }
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.equal(list.size, 0);
  });
});

describe("AbortGroup", () => {
  it("aborts every listener and timer under way once, with its reason; removed ones and late ones are not called", () => {
    const group = new AbortGroup();
    const calls: string[] = [];
    const listener = (name: string) => ({ handleEvent: () => calls.push(name) });
    const a = listener("a");
    const b = listener("b");
    group.addEventListener("abort", a);
    group.addEventListener("abort", b);
    const timer = stallAwareTimeout(60_000, undefined, group);
    group.removeEventListener("abort", a);
    assert.equal(group.size, 2);
    group.abort(new Error("closing"));
    group.abort(new Error("again"));
    assert.deepEqual(calls, ["b"]);
    assert.equal(timer.aborted, true);
    assert.equal((timer.reason as Error).message, "closing");
    timer.clear();
    group.addEventListener("abort", listener("late"));
    assert.equal(group.size, 0);
    assert.deepEqual(calls, ["b"]);
    const after = stallAwareTimeout(60_000, undefined, group);
    assert.equal(after.aborted, true, "a timer made in an aborted group is aborted at once");
    after.clear();
  });
});
