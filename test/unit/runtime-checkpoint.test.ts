/**
 * Checkpoints, resume and cancellation against the HTTP double: how many updates a tight loop
 * sends, what a failure carries, the retriedTaskId chain a 3.32 server needs, and when a task is
 * stopped. What Conductor does with these requests is tested on the real server
 * (test/e2e/runtime-checkpoint.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
import type { Task, TaskResult } from "../../src/conductor/types.ts";
import { execute } from "../../src/runtime/executor.ts";
import { batches, isBatchProgress } from "../../src/task/batches.ts";
import type { TaskContext, TaskFunction } from "../../src/task/context.ts";
import { HttpDouble } from "../support/http-double.ts";
import { reg, testLogger, until } from "../fixtures/runtime/helpers.ts";

let double: HttpDouble;
let client: ConductorClient;
/** What GET /api/tasks/{id} answers, by task id (missing: 404). */
const serverTasks = new Map<string, Partial<Task>>();

before(async () => {
  double = await HttpDouble.start();
  double.on("POST", "/api/tasks", (r) => ({ text: String((r.json as TaskResult).taskId) }));
  double.on("GET", /^\/api\/tasks\/[^/]+$/, (r) => {
    const t = serverTasks.get(decodeURIComponent(r.path.split("/").pop()!));
    return t ? { json: t } : { status: 404, json: { message: "not found" } };
  });
  client = new ConductorClient({ serverUrl: double.url, timeoutMs: 2000 });
});
after(async () => {
  client.close();
  await double.close();
});

let n = 0;
function task(extra: Partial<Task> = {}): Task {
  const taskId = `t${++n}`;
  const t: Task = {
    taskId,
    workflowInstanceId: "wf",
    taskType: "ck_unit",
    status: "IN_PROGRESS",
    pollCount: 1,
    retryCount: 0,
    responseTimeoutSeconds: 60,
    inputData: {},
    ...extra,
  };
  serverTasks.set(taskId, { ...t });
  return t;
}
const updatesOf = (taskId: string) =>
  double
    .calls("POST", "/api/tasks")
    .map((r) => r.json as TaskResult)
    .filter((u) => u.taskId === taskId);
const run = (fn: TaskFunction, t: Task, checkpointIntervalMs = 1000, leaseExtend = false) =>
  execute(reg("ck_unit", fn), t, { client, workerId: "w", logger: testLogger(), execTimeoutSeconds: 0, leaseExtend, checkpointIntervalMs });

describe("ctx.checkpoint (HTTP double)", () => {
  it("a tight loop of 500 checkpoints sends the first at once, then at most one per interval, ending with the latest", async () => {
    const t = task();
    const stateOf = (u: TaskResult) => (u.outputData!.checkpoint as { state: { i: number } }).state.i;
    let elapsed = 0;
    const ex = run(
      async (_i, ctx) => {
        const t0 = performance.now();
        for (let i = 1; i <= 500; i++) await ctx.checkpoint({ i });
        await until(() => updatesOf(t.taskId).some((u) => stateOf(u) === 500), 10_000, "the latest state to be sent");
        elapsed = performance.now() - t0;
        return { done: true };
      },
      t,
      200,
    );
    const r = await ex.result;
    assert.equal(r.status, "COMPLETED");
    assert.deepEqual(r.outputData, { done: true }, "a completed output replaces the checkpoint");
    const ups = updatesOf(t.taskId).filter((u) => u.status === "IN_PROGRESS");
    const states = ups.map(stateOf);
    assert.equal(states[0], 1, "the first goes at once");
    assert.equal(states.at(-1), 500, "the latest wins");
    assert.ok(
      states.every((s, k) => k === 0 || s > states[k - 1]),
      `in order: ${states}`,
    );
    // 1 at once + at most one per 200 ms interval since (the loop itself takes a few ms unless the machine is loaded)
    assert.ok(ups.length >= 2 && ups.length <= 2 + Math.floor(elapsed / 200), `${ups.length} updates in ${Math.round(elapsed)} ms`);
    for (const u of ups) {
      assert.equal(u.extendLease, undefined, "a checkpoint is a plain IN_PROGRESS update: Conductor ignores output with extendLease");
      assert.equal(u.callbackAfterSeconds, 60, "the lease is the task's responseTimeoutSeconds");
    }
    // each send reads the task first (cancellation)
    assert.ok(double.calls("GET", `/api/tasks/${t.taskId}`).length >= 2);
  });

  it("the state is a snapshot: mutating it after the call changes nothing", async () => {
    const t = task();
    const ex = run(async (_i, ctx) => {
      const s = { items: [1] };
      await ctx.checkpoint(s, { flush: true });
      s.items.push(2);
      return {};
    }, t);
    await ex.result;
    const first = updatesOf(t.taskId)[0].outputData!.checkpoint as { state: unknown };
    assert.deepEqual(first.state, { items: [1] });
  });

  it("flush waits for the server and bypasses the interval", async () => {
    const t = task();
    const ex = run(
      async (_i, ctx) => {
        await ctx.checkpoint({ a: 1 }, { flush: true });
        const after1 = updatesOf(t.taskId).length;
        await ctx.checkpoint({ a: 2 }, { flush: true });
        return { after1, after2: updatesOf(t.taskId).length };
      },
      t,
      60_000,
    );
    const r = await ex.result;
    assert.deepEqual(r.outputData, { after1: 1, after2: 2 });
  });

  it("a failure carries the latest state, even one the interval had not sent yet", async () => {
    const t = task();
    const ex = run(
      async (_i, ctx) => {
        await ctx.checkpoint({ step: 1 });
        await ctx.checkpoint({ step: 2 }); // throttled, not sent
        throw new Error("boom");
      },
      t,
      60_000,
    );
    const r = await ex.result;
    assert.equal(r.status, "FAILED");
    assert.deepEqual((r.outputData!.checkpoint as { state: unknown }).state, { step: 2 });
    assert.equal(updatesOf(t.taskId).length, 1);
  });

  it("a state that is not JSON is refused at the call", async () => {
    const t = task();
    const r = await run(async (_i, ctx) => {
      const s: Record<string, unknown> = {};
      s.self = s;
      await ctx.checkpoint(s);
    }, t).result;
    assert.equal(r.status, "FAILED");
    assert.match(r.reasonForIncompletion!, /checkpoint: the state cannot be serialised to JSON/);
  });
});

describe("resume (HTTP double)", () => {
  const env = (seq: number, state: unknown, taskId = "old") => ({ v: 1, seq, savedAt: 1, taskId, state });

  it("a redelivered task resumes from its own output, without a request", async () => {
    const t = task({ pollCount: 2, outputData: { checkpoint: env(3, { next: 7 }) } });
    const before = double.requests.length;
    const r = await run(async (_i, ctx) => ({ from: ctx.resumeFrom }), t).result;
    assert.deepEqual(r.outputData, { from: { next: 7 } });
    assert.equal(double.requests.length - before, 0, "no request to find it (the executor leaves the result to delivery)");
  });

  it("a retry whose output was cleared (Conductor 3.32) follows retriedTaskId back to the attempt that checkpointed", async () => {
    serverTasks.set("a1", { taskId: "a1", status: "TIMED_OUT", outputData: { checkpoint: env(5, { next: 40 }, "a1") } });
    serverTasks.set("a2", { taskId: "a2", status: "TIMED_OUT", outputData: {}, retriedTaskId: "a1" }); // died before its first checkpoint
    const t = task({ retriedTaskId: "a2", retryCount: 2 });
    const r = await run(async (_i, ctx) => {
      await ctx.checkpoint({ next: 41 }, { flush: true });
      return { from: ctx.resumeFrom };
    }, t).result;
    assert.deepEqual(r.outputData, { from: { next: 40 } });
    const saved = updatesOf(t.taskId)[0].outputData!.checkpoint as { seq: number };
    assert.equal(saved.seq, 6, "sequence numbers go on across attempts");
  });

  it("a retry of an attempt with no checkpoint starts fresh; a failure passes an inherited checkpoint on", async () => {
    serverTasks.set("b1", { taskId: "b1", status: "FAILED", outputData: {} });
    const fresh = await run(async (_i, ctx) => ({ from: ctx.resumeFrom ?? null }), task({ retriedTaskId: "b1" })).result;
    assert.deepEqual(fresh.outputData, { from: null });

    serverTasks.set("c1", { taskId: "c1", status: "FAILED", outputData: { checkpoint: env(2, { next: 9 }, "c1") } });
    const failed = await run(
      async () => {
        throw new Error("again");
      },
      task({ retriedTaskId: "c1" }),
    ).result;
    assert.deepEqual((failed.outputData!.checkpoint as { state: unknown }).state, { next: 9 });
  });

  it("while the earlier attempt cannot be read the task waits, then resumes; a refusal fails it", async () => {
    let answers = 0;
    double.on("GET", "/api/tasks/flaky", () =>
      ++answers <= 2
        ? { status: 503, json: { message: "down" } }
        : { json: { taskId: "flaky", status: "FAILED", outputData: { checkpoint: env(1, { next: 3 }, "flaky") } } },
    );
    const r = await run(async (_i, ctx) => ({ from: ctx.resumeFrom }), task({ retriedTaskId: "flaky" })).result;
    assert.deepEqual(r.outputData, { from: { next: 3 } });
    assert.equal(answers, 3, "two 503s waited out");

    double.on("GET", "/api/tasks/forbidden", { status: 403, json: { message: "no" } });
    const refused = await run(async () => ({ ran: true }), task({ retriedTaskId: "forbidden" })).result;
    assert.equal(refused.status, "FAILED");
    assert.match(refused.reasonForIncompletion!, /cannot read the earlier attempt forbidden to resume from its checkpoint/);
  });
});

describe("cancellation (HTTP double)", () => {
  it("a heartbeat that finds the task CANCELED aborts ctx.signal and reports nothing", async () => {
    const t = task();
    let reason: unknown;
    let seen!: () => void;
    const reasonSeen = new Promise<void>((r) => (seen = r));
    const ex = run(async (_i, ctx) => {
      await ctx.heartbeat();
      assert.equal(ctx.signal.aborted, false);
      serverTasks.set(t.taskId, { ...serverTasks.get(t.taskId), status: "CANCELED" });
      await ctx.heartbeat();
      reason = ctx.signal.reason;
      seen();
      return { late: true };
    }, t);
    const r = await ex.result;
    await reasonSeen; // the heartbeat resolves after the execution ended
    assert.equal(ex.cancelled, true);
    assert.equal((reason as Error).name, "TaskCancelledError");
    assert.match((reason as Error).message, /the task is CANCELED on the server/);
    assert.equal(r.status, "FAILED");
    const sent = updatesOf(t.taskId);
    assert.equal(sent.length, 1, "one lease extension before the cancel, none after");
    assert.equal(sent[0].extendLease, true);
  });

  it("a checkpoint that finds the task handed to another worker stops without writing over it", async () => {
    const t = task();
    const ex = run(async (_i, ctx) => {
      await ctx.checkpoint({ a: 1 }, { flush: true });
      serverTasks.set(t.taskId, { ...serverTasks.get(t.taskId), status: "IN_PROGRESS", pollCount: 2, workerId: "other" });
      await ctx.checkpoint({ a: 2 }, { flush: true });
      return {};
    }, t);
    await ex.result;
    assert.equal(ex.cancelled, true);
    assert.equal(updatesOf(t.taskId).length, 1);
  });

  it("a deleted task (404) is stopped too", async () => {
    const t = task();
    serverTasks.delete(t.taskId);
    const ex = run(async (_i, ctx) => {
      await ctx.heartbeat();
      return { aborted: ctx.signal.aborted };
    }, t);
    await ex.result;
    assert.equal(ex.cancelled, true);
  });
});

describe("batches", () => {
  /** A context with checkpoints recorded in memory. */
  function fakeCtx(resumeFrom?: unknown) {
    const saved: unknown[] = [];
    const ctl = new AbortController();
    const ctx = {
      taskId: "x",
      retryCount: 0,
      pollCount: 1,
      signal: ctl.signal,
      resumeFrom,
      checkpoint: async (s: unknown) => void saved.push(structuredClone(s)),
    } as unknown as TaskContext;
    return { ctx, saved, ctl };
  }

  it("checkpoints after each batch, and a resumed run skips what was done (array and iterable)", async () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    const first = fakeCtx();
    const seen1: number[] = [];
    for await (const b of batches(first.ctx, items, 10)) {
      seen1.push(...b.items);
      if (b.index === 1) break; // batch 1 not finished
    }
    assert.deepEqual(seen1, items.slice(0, 20));
    assert.equal(first.saved.length, 1);
    const last = first.saved.at(-1);
    assert.ok(isBatchProgress(last));
    assert.equal(last.itemsDone, 10);

    for (const source of [
      items,
      (function* () {
        yield* items;
      })(),
    ]) {
      const second = fakeCtx(last);
      const seen2: number[] = [];
      const runner = batches(second.ctx, source, 10);
      for await (const b of runner) seen2.push(...b.items);
      assert.deepEqual(seen2, items.slice(10));
      const p = runner.progress();
      assert.equal(p.itemsDone, 25);
      assert.equal(p.done, 3);
      assert.deepEqual(
        p.attempts.map((a) => [a.from, a.to, a.batches]),
        [
          [0, 10, 1],
          [10, 25, 2],
        ],
      );
      assert.deepEqual(
        p.recent.map((m) => [m.index, m.start, m.end, m.attempt]),
        [
          [0, 0, 10, 0],
          [1, 10, 20, 1],
          [2, 20, 25, 1],
        ],
      );
    }
  });

  it("stops before the next batch when ctx.signal aborts", async () => {
    const { ctx, ctl } = fakeCtx();
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const b of batches(ctx, [1, 2, 3, 4], 1)) {
        seen.push(...b.items);
        if (b.index === 1) ctl.abort(new Error("stop here"));
      }
    }, /stop here/);
    assert.deepEqual(seen, [1, 2]);
  });

  it("refuses a bad size, a non-iterable and a checkpoint it did not write", () => {
    const { ctx } = fakeCtx();
    assert.throws(() => batches(ctx, [1], 0), /size must be a whole number >= 1, got 0/);
    assert.throws(() => batches(ctx, 5 as never, 1), /items must be an array or an \(async\) iterable, got number/);
    assert.throws(() => batches(fakeCtx({ mine: 1 }).ctx, [1], 1), /not written by batches\(\)/);
  });

  it("the executor adds the progress to a completed output as `batches`", async () => {
    const t = task();
    const r = await run(async (_i, ctx) => {
      let sum = 0;
      for await (const b of ctx.batches([1, 2, 3, 4, 5], 2)) sum += b.items.reduce((a, x) => a + x, 0);
      return { sum };
    }, t).result;
    assert.equal(r.status, "COMPLETED");
    assert.equal(r.outputData!.sum, 15);
    const p = r.outputData!.batches;
    assert.ok(isBatchProgress(p));
    assert.equal(p.done, 3);
    assert.equal(p.itemsDone, 5);

    // An attempt that finds every batch done (its predecessor died after the last checkpoint) reports the progress too.
    const again = await run(
      async (_i, ctx) => {
        let n = 0;
        for await (const _b of ctx.batches([1, 2, 3, 4, 5], 2)) n++;
        return { ran: n };
      },
      task({ pollCount: 2, outputData: { checkpoint: { v: 1, seq: 3, savedAt: 1, taskId: "x", state: p } } }),
    ).result;
    assert.equal(again.outputData!.ran, 0);
    assert.deepEqual(again.outputData!.batches, p);
  });
});
