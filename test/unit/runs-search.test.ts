/** `workflow search` filters turned into Conductor's query language (src/runs/search.ts); the e2e test runs them on the server. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSince, searchQuery } from "../../src/runs/search.ts";

describe("workflow search filters", () => {
  it("--since takes a number and a unit", () => {
    assert.equal(parseSince("90s"), 90_000);
    assert.equal(parseSince("15m"), 900_000);
    assert.equal(parseSince("1h"), 3_600_000);
    assert.equal(parseSince("1.5h"), 5_400_000);
    assert.equal(parseSince("2d"), 172_800_000);
    assert.equal(parseSince("1w"), 604_800_000);
    for (const bad of ["", "1", "h", "1y", "-1h", "yesterday"]) assert.throws(() => parseSince(bad), /is not a duration: write a number and a unit/, bad);
  });

  it("builds one query: names, statuses (any case), start time", () => {
    assert.equal(searchQuery({}), "");
    assert.equal(
      searchQuery({ name: ["a", "b_c"], status: ["failed", "TIMED_OUT"], sinceMs: 1000 }, 5000),
      "workflowType IN (a,b_c) AND status IN (FAILED,TIMED_OUT) AND startTime > 4000",
    );
    assert.throws(() => searchQuery({ status: ["BROKEN"] }), /--status BROKEN is not a workflow status: use one of RUNNING, COMPLETED/);
    assert.throws(() => searchQuery({ name: ["a) OR (1=1"] }), /--name "a\) OR \(1=1": a workflow name has only letters/);
  });
});
