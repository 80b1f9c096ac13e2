/**
 * One line saying what a running workflow is doing, for a progress display while waiting:
 * which tasks run (and on which worker), which wait for a worker to poll them.
 */
import type { Task, Workflow } from "../conductor/types.ts";

/** Containers that are "in progress" only because something inside them is. */
const CONTAINERS = new Set(["JOIN", "FORK", "FORK_JOIN", "FORK_JOIN_DYNAMIC", "DO_WHILE", "EXCLUSIVE_JOIN"]);

export function describeProgress(wf: Workflow): string {
  const name = (t: Task) => {
    const ref = t.referenceTaskName ?? t.taskId;
    const def = t.taskDefName ?? t.taskType;
    return ref === def ? ref : `${ref} (${def})`;
  };
  const open = (wf.tasks ?? []).filter((t) => !CONTAINERS.has(String(t.taskType)));
  const running = open.filter((t) => t.status === "IN_PROGRESS").map(name);
  const waiting = open.filter((t) => t.status === "SCHEDULED").map(name);
  const parts: string[] = [];
  if (running.length) parts.push(`running ${running.join(", ")}`);
  if (waiting.length) parts.push(`waiting for a worker: ${waiting.join(", ")}`);
  return parts.length ? parts.join("; ") : String(wf.status).toLowerCase();
}
