/**
 * The workflow mender's choices (src/server/mender.ts): which running workflows it decides, when,
 * and how often it looks. The server's side (a burst leaves workflows RUNNING, the mender ends
 * them) is test/e2e/server-finishes-workflows.test.ts, against the real server.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConductorClient } from "../../src/conductor/client.ts";
import type { Task, Workflow } from "../../src/conductor/types.ts";
import { idleSince, WorkflowMender } from "../../src/server/mender.ts";

const task = (over: Partial<Task>): Task => ({ taskId: "t", workflowInstanceId: "w", taskType: "noop", status: "COMPLETED", ...over });
const wf = (over: Partial<Workflow>): Workflow => ({ workflowId: "w", status: "RUNNING", updateTime: 1000, tasks: [], ...over });

describe("idleSince: a running workflow with nothing left to run", () => {
  test("every task finished: idle since the latest moment of any task or of the workflow", () => {
    assert.equal(idleSince(wf({ tasks: [task({ endTime: 5000, updateTime: 4000 }), task({ endTime: 3000 })] })), 5000);
    assert.equal(idleSince(wf({ updateTime: 9000, tasks: [task({ endTime: 5000 })] })), 9000);
  });
  test("a task out with a worker, a timer or an event: not idle", () => {
    for (const open of [
      task({ status: "SCHEDULED" }),
      task({ status: "IN_PROGRESS" }),
      task({ taskType: "WAIT", status: "IN_PROGRESS" }),
      task({ taskType: "SUB_WORKFLOW", status: "IN_PROGRESS" }),
      task({ taskType: "HTTP", status: "SCHEDULED" }),
    ])
      assert.equal(idleSince(wf({ tasks: [task({ endTime: 5000 }), open] })), undefined, open.taskType);
  });
  test("only decider-driven tasks open (a JOIN whose branches ended, a DO_WHILE between iterations): idle", () => {
    const tasks = [
      task({ taskType: "JOIN", status: "IN_PROGRESS", updateTime: 2000 }),
      task({ taskType: "DO_WHILE", status: "IN_PROGRESS" }),
      task({ endTime: 6000 }),
    ];
    assert.equal(idleSince(wf({ tasks })), 6000);
  });
  test("not RUNNING: never", () => {
    for (const status of ["COMPLETED", "PAUSED", "FAILED", "TERMINATED"] as const) assert.equal(idleSince(wf({ status })), undefined);
  });
});

/** A stand-in for the four calls the mender makes (the real server's answers are the e2e test's). */
function fakeClient(workflows: Map<string, Workflow & { name: string }>) {
  const calls = { reads: [] as string[], decides: [] as string[] };
  const client = {
    workflowNames: async () => [...new Set([...workflows.values()].map((w) => w.name)), "quiet_wf"],
    runningWorkflowIds: async (name: string) => [...workflows.values()].filter((w) => w.name === name && w.status === "RUNNING").map((w) => w.workflowId),
    getWorkflow: async (id: string) => {
      calls.reads.push(id);
      return workflows.get(id)!;
    },
    decideWorkflow: async (id: string) => {
      calls.decides.push(id);
      workflows.get(id)!.status = "COMPLETED";
    },
  };
  return { client: client as unknown as ConductorClient, calls };
}

describe("WorkflowMender", () => {
  test("decides a workflow idle for settleMs, not before; leaves busy ones alone and looks at them less often as they age", async () => {
    let now = 100_000;
    const workflows = new Map<string, Workflow & { name: string }>([
      ["stuck", { ...wf({ workflowId: "stuck", tasks: [task({ endTime: 99_000 })] }), name: "a_wf" }],
      ["busy", { ...wf({ workflowId: "busy", tasks: [task({ status: "SCHEDULED" })] }), name: "a_wf" }],
      ["fresh", { ...wf({ workflowId: "fresh", tasks: [task({ endTime: 100_500 })] }), name: "b_wf" }],
    ]);
    const { client, calls } = fakeClient(workflows);
    const lines: string[] = [];
    const mender = new WorkflowMender(client, { settleMs: 3000, now: () => now, log: (l) => lines.push(l) });

    assert.deepEqual((await mender.tick()).mended, [], "nothing is read before it has been seen for settleMs");
    now += 3000;
    const second = await mender.tick();
    assert.deepEqual(second.mended, ["stuck"]);
    assert.deepEqual(calls.decides, ["stuck"], "fresh ended its task only 2.5 s ago at the first look; busy waits on a worker");
    assert.match(lines[0]!, /decided workflow stuck \(a_wf\): RUNNING with nothing left to run for 4 s/);
    now += 1000;
    assert.deepEqual((await mender.tick()).mended, ["fresh"], "fresh is decided once its last task is settleMs old");

    // busy: read every 3 s while young, then after a quarter of its age, up to the cap.
    const readsOfBusy = () => calls.reads.filter((id) => id === "busy").length;
    const seen: number[] = [];
    for (let i = 0; i < 120; i++) {
      now += 1000;
      const before = readsOfBusy();
      await mender.tick();
      if (readsOfBusy() > before) seen.push(now);
    }
    const gaps = seen.slice(1).map((t, i) => t - seen[i]!);
    assert.deepEqual(gaps.slice(0, 3), [3000, 3000, 3000], "every 3 s while it is young (age under 12 s)");
    assert.ok(
      gaps.every((g, i) => i === 0 || g >= gaps[i - 1]!),
      `looked at less and less often: ${gaps}`,
    );
    assert.ok(gaps.at(-1)! >= 20_000, `a quarter of its age once it is old: ${gaps}`);
    assert.ok(
      gaps.every((g) => g <= 60_000),
      `never more than a minute apart: ${gaps}`,
    );
    assert.deepEqual(calls.decides, ["stuck", "fresh"], "busy is never decided");
  });

  test("reads at most checksPerTick workflows a tick, oldest due first", async () => {
    let now = 0;
    const workflows = new Map<string, Workflow & { name: string }>();
    for (let i = 0; i < 30; i++) workflows.set(`w${i}`, { ...wf({ workflowId: `w${i}`, tasks: [task({ status: "SCHEDULED" })] }), name: "many_wf" });
    const { client, calls } = fakeClient(workflows);
    const mender = new WorkflowMender(client, { settleMs: 1000, checksPerTick: 10, now: () => now });
    await mender.tick();
    now += 1000;
    assert.equal((await mender.tick()).checked, 10);
    now += 1000;
    assert.equal((await mender.tick()).checked, 10);
    assert.equal(new Set(calls.reads).size, 20, "the ones not read yet come first");
  });
});
