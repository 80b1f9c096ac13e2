/** The runtime's events (src/runtime/events.ts): what metrics, health and the API listen to. Faults come from a small HTTP double. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
import { RuntimeEvents, type RuntimeEventMap } from "../../src/runtime/events.ts";
import { runWorkers } from "../../src/runtime/handler.ts";
import { TerminalError } from "../../src/task/errors.ts";
import { HttpDouble } from "../support/http-double.ts";
import { reg, tempStateDir, until } from "../fixtures/runtime/helpers.ts";

type Seen = { [K in keyof RuntimeEventMap]?: RuntimeEventMap[K][] };

function record(events: RuntimeEvents): Seen {
  const seen: Seen = {};
  for (const name of ["poll", "task:started", "task:finished", "delivery:attempt", "delivery:backlog", "watchdog:restart", "draining", "stopped"] as const) {
    events.on(name, (e) => ((seen[name] ??= []) as unknown[]).push(e));
  }
  return seen;
}

describe("runtime events", () => {
  it("a run reports its polls, each task's start and end with its status, delivery attempts, draining and stop", async () => {
    const d = await HttpDouble.start();
    const queue = [
      { taskId: "e1", workflowInstanceId: "w1", taskType: "ev_task", inputData: { ok: true }, scheduledTime: Date.now() - 50 },
      { taskId: "e2", workflowInstanceId: "w2", taskType: "ev_task", inputData: { ok: false } },
    ];
    d.on("GET", /^\/api\/tasks\/poll\/batch\//, () => ({ status: 200, json: queue.splice(0, 1) }));
    let firstUpdate = true;
    d.on("POST", /^\/api\/tasks/, () => {
      if (firstUpdate) {
        firstUpdate = false;
        return { status: 503, json: { message: "busy" } };
      }
      return { status: 200, text: "ok" };
    });
    const events = new RuntimeEvents();
    events.on("poll", () => {
      throw new Error("a throwing listener must not break the worker");
    });
    const seen = record(events);
    const client = new ConductorClient({ serverUrl: d.url });
    const run = await runWorkers({
      client,
      events,
      stateDir: tempStateDir(),
      handleSignals: false,
      backoff: { baseMs: 10, capMs: 20 },
      registrations: [
        reg(
          "ev_task",
          async (input) => {
            if (!input.ok) throw new TerminalError("not ok");
            return { done: true };
          },
          { pollTimeoutMs: 20, pollIntervalMs: 10 },
        ),
      ],
    });
    assert.equal(run.events, events);
    // (and an empty poll after them: the queue is empty then, but a stop() right after the last delivery may come before the next poll)
    await until(
      () => (seen["task:finished"]?.length ?? 0) === 2 && run.stats().delivery.backlog === 0 && !!seen.poll?.some((p) => p.outcome === "empty"),
      5000,
      "both tasks finished and delivered, then an empty poll",
    );
    await run.stop();

    const finished = seen["task:finished"]!;
    assert.deepEqual(
      finished.map((e) => [e.taskId, e.status, e.timedOut]),
      [
        ["e1", "COMPLETED", false],
        ["e2", "FAILED_WITH_TERMINAL_ERROR", false],
      ],
    );
    assert.equal(finished[1].reason, "not ok");
    assert.ok(finished.every((e) => e.worker === "ev_task" && e.concurrency === 1 && e.durationMs >= 0));
    const started = seen["task:started"]!;
    assert.deepEqual(
      started.map((e) => e.taskId),
      ["e1", "e2"],
    );
    assert.ok(started[0].queueWaitMs! >= 50, `queue wait from scheduledTime: ${started[0].queueWaitMs}`);
    assert.equal(started[1].queueWaitMs, undefined);
    const polls = seen.poll!;
    assert.ok(polls.filter((p) => p.outcome === "tasks").length >= 2);
    assert.ok(polls.some((p) => p.outcome === "empty"));
    const attempts = seen["delivery:attempt"]!;
    assert.equal(attempts.filter((a) => a.ok).length, 2, "two successful deliveries");
    assert.ok(
      attempts.some((a) => !a.ok && a.httpStatus === 503),
      "the refused first attempt is reported",
    );
    assert.ok(
      seen["delivery:backlog"]!.some((b) => b.backlog > 0),
      "the retried result showed in the backlog",
    );
    assert.equal(seen["delivery:backlog"]!.at(-1)!.backlog, 0);
    assert.deepEqual(seen.draining, [{ reason: "stop" }]);
    assert.deepEqual(seen.stopped, [{ reason: "stop", exitCode: 0 }]);
    client.close();
    await d.close();
  });
});
