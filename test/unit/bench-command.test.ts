/** A benchmark's raw JSON names the flags its contenders ran under (bench/peers/flags.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benchCommand } from "../../bench/peers/flags.ts";

describe("benchCommand", () => {
  it("writes the variables that change a contender before the command, quoted", () => {
    const env = { BENCH_NODE_FLAGS: "--min-semi-space-size=16 --no-memory-reducer", BENCH_IDFLOW_OTHER: "/tmp/other", HOME: "/root" };
    assert.equal(
      benchCommand("peers", env, ["--n", "3000"]),
      'BENCH_NODE_FLAGS="--min-semi-space-size=16 --no-memory-reducer" BENCH_IDFLOW_OTHER="/tmp/other" npm run bench -- peers --n 3000',
    );
  });

  it("is the bare command when none is set", () => {
    assert.equal(benchCommand("overhead", { HOME: "/root" }, []), "npm run bench -- overhead");
  });
});
