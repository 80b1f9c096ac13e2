import type { ConductorClient } from "./client.ts";
import type { Workflow, WorkflowStatus } from "./types.ts";

const TERMINAL: ReadonlySet<WorkflowStatus> = new Set(["COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"]);

export function isTerminal(status: WorkflowStatus): boolean {
  return TERMINAL.has(status);
}

/** Polls a workflow until it ends (or `timeoutMs` passes) and returns it. */
export async function waitForWorkflow(
  client: ConductorClient,
  workflowId: string,
  opts: { timeoutMs?: number; intervalMs?: number; includeTasks?: boolean; onPoll?: (wf: Workflow) => void } = {},
): Promise<Workflow> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const wf = await client.getWorkflow(workflowId, opts.includeTasks ?? false);
    if (isTerminal(wf.status)) return wf;
    opts.onPoll?.(wf);
    if (Date.now() >= deadline) {
      throw new Error(
        `workflow ${workflowId} is still ${wf.status} after ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s: are its workers running? (idflow worker start --all)`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}
