/**
 * Where a new attempt resumes: the checkpoint an earlier attempt of the same task left.
 *
 *   1. The task's own output. When a worker dies after a checkpoint, Conductor hands the same
 *      task (same taskId, pollCount + 1) to the next worker with the output kept
 *      (checkpoint.ts). Conductor 3.21 also copies the output into a retry.
 *   2. Otherwise the attempt it retries: a retry is a new task whose `retriedTaskId` names the
 *      attempt before it (TIMED_OUT and FAILED keep their output; Conductor 3.32 clears the copy
 *      in the retry, so it must be read there). An attempt that died before its first checkpoint
 *      has none: the chain is followed back, at most MAX_HOPS attempts.
 * While the server cannot be reached the read is retried with backoff until it answers or the
 * execution is aborted (timeout, shutdown): resuming from scratch because the server was away
 * would repeat work that was done, and the result could not be reported meanwhile anyway.
 * Any other refusal (401, 403, 400) fails the task, saying which attempt could not be read.
 */
import type { ConductorClient } from "../conductor/client.ts";
import { ConductorError } from "../conductor/errors.ts";
import type { Task } from "../conductor/types.ts";
import { Backoff, sleep } from "./backoff.ts";
import { readCheckpoint, type CheckpointEnvelope } from "./checkpoint.ts";

/** Most earlier attempts read back when looking for a checkpoint. */
export const MAX_HOPS = 10;

/** True when finding this task's checkpoint needs no request. */
export function resumeIsLocal(task: Task): boolean {
  return readCheckpoint(task.outputData) !== undefined || !retriedFrom(task);
}

export async function findCheckpoint(client: ConductorClient, task: Task, signal?: AbortSignal): Promise<CheckpointEnvelope | undefined> {
  const own = readCheckpoint(task.outputData);
  if (own) return own;
  let id = retriedFrom(task);
  for (let hop = 0; id && hop < MAX_HOPS; hop++) {
    const earlier = await readTask(client, id, signal);
    if (!earlier) return undefined;
    const found = readCheckpoint(earlier.outputData);
    if (found) return found;
    id = retriedFrom(earlier);
  }
  return undefined;
}

function retriedFrom(task: Task): string | undefined {
  const id = task.retriedTaskId;
  return typeof id === "string" && id ? id : undefined;
}

async function readTask(client: ConductorClient, id: string, signal?: AbortSignal): Promise<Task | undefined> {
  const backoff = new Backoff({ baseMs: 250, capMs: 5000 });
  for (;;) {
    try {
      return await client.getTask(id);
    } catch (err) {
      if (!(err instanceof ConductorError && err.transient)) {
        throw new Error(`cannot read the earlier attempt ${id} to resume from its checkpoint: ${(err as Error).message}`);
      }
      await sleep(backoff.next(), signal);
      if (signal?.aborted) throw signal.reason ?? new Error("aborted");
    }
  }
}
