/**
 * Is the running task still ours? Conductor answers 200 to an update of a task that is already
 * finished (a terminated workflow cancels its tasks) and ignores it, so an update alone never
 * tells a worker to stop. Before each heartbeat and each checkpoint the runtime therefore reads
 * the task (`GET /api/tasks/{id}`, one small request: about 25 ms on a loaded 2-core machine) and
 * stops the execution when:
 *   - the task is in a terminal state (CANCELED by a terminated workflow, TIMED_OUT, or finished
 *     by someone else through the API), or gone (404);
 *   - its pollCount grew past ours: Conductor handed it to another worker (our lease ran out),
 *     so this execution is a zombie and must neither checkpoint nor report.
 * A failed read (the server is away) counts as "still ours": a network blip never stops work.
 */
import type { ConductorClient } from "../conductor/client.ts";
import type { Task, TaskStatus } from "../conductor/types.ts";

const TERMINAL = new Set<TaskStatus>(["COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "CANCELED", "SKIPPED"]);

export type Liveness = { live: true } | { live: false; reason: string };

/** Reads the task and says whether this execution (the one polled as `task`) may go on. */
export async function readLiveness(client: ConductorClient, task: Task): Promise<Liveness> {
  let now: Task | undefined;
  try {
    now = await client.getTask(task.taskId);
  } catch {
    return { live: true };
  }
  if (!now) return { live: false, reason: "the task is gone from the server (404): stopped" };
  if (now.status && TERMINAL.has(now.status)) {
    const why = now.reasonForIncompletion ? ` (${now.reasonForIncompletion})` : "";
    return { live: false, reason: `the task is ${now.status} on the server${why}: stopped` };
  }
  if ((now.pollCount ?? 0) > (task.pollCount ?? 0)) {
    return {
      live: false,
      reason: `Conductor handed the task to another worker (${now.workerId ?? "unknown"}, poll ${now.pollCount}) after this one's lease ran out: stopped`,
    };
  }
  return { live: true };
}
