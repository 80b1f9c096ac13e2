/** The progress line `workflow run --wait` shows on a terminal (src/runs/progress.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Workflow } from "../../src/conductor/types.ts";
import { describeProgress } from "../../src/runs/progress.ts";

const task = (ref: string, type: string, status: string, def = type) =>
  ({ taskId: ref, workflowInstanceId: "w", referenceTaskName: ref, taskType: type, taskDefName: def, status }) as never;

describe("workflow progress line", () => {
  it("names running tasks and those waiting for a worker; containers are left out", () => {
    const wf: Workflow = {
      workflowId: "w",
      status: "RUNNING",
      tasks: [
        task("fork", "FORK", "COMPLETED"),
        task("keywords", "extract_keywords", "IN_PROGRESS"),
        task("stats", "text_stats", "SCHEDULED"),
        task("join", "JOIN", "IN_PROGRESS"),
        task("slug", "slug", "SCHEDULED"),
      ],
    };
    assert.equal(describeProgress(wf), "running keywords (extract_keywords); waiting for a worker: stats (text_stats), slug");
  });

  it("says the workflow's status when no task is open", () => {
    assert.equal(describeProgress({ workflowId: "w", status: "PAUSED", tasks: [task("a", "a", "COMPLETED")] }), "paused");
  });
});
