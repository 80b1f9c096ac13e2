/**
 * The client for work outside workers: finish a task from a web handler (by task id, or by
 * workflow id and task reference name: a WAIT or HUMAN task), start a workflow, start one and
 * wait for its end. The same server resolution as every command (src/config.ts).
 */
import type { ConductorClient } from "../conductor/client.ts";
import { ConductorError } from "../conductor/errors.ts";
import type { TaskResult, Workflow } from "../conductor/types.ts";
import { waitForWorkflow } from "../conductor/wait.ts";
import { TaskNotFoundError } from "./errors.ts";
import { connectApi, type ConnectOptions } from "./server.ts";

export { TaskNotFoundError };

export interface FailOptions {
  /** FAILED_WITH_TERMINAL_ERROR: never retried (default false: FAILED, retried per the task definition). */
  terminal?: boolean;
  output?: Record<string, unknown>;
}

export interface StartOptions {
  version?: number;
  correlationId?: string;
}

/** A client on the configured server (the same resolution as every command). */
export function createClient(opts: ConnectOptions = {}): WorkflowClient {
  return new WorkflowClient(opts);
}

export class WorkflowClient {
  /** The HTTP client underneath (every Conductor endpoint idflow knows). */
  readonly conductor: ConductorClient;
  private readonly owned: boolean;

  constructor(opts: ConnectOptions = {}) {
    const { client, owned } = connectApi(opts);
    this.conductor = client;
    this.owned = owned;
  }

  /** Complete a task by id with this output. */
  async completeTask(taskId: string, output: Record<string, unknown> = {}): Promise<void> {
    await this.update(taskId, { status: "COMPLETED", outputData: output });
  }

  /** Fail a task by id with a reason (retried per its definition unless `terminal`). */
  async failTask(taskId: string, reason: string, opts: FailOptions = {}): Promise<void> {
    await this.update(taskId, {
      status: opts.terminal ? "FAILED_WITH_TERMINAL_ERROR" : "FAILED",
      reasonForIncompletion: reason,
      outputData: opts.output ?? {},
    });
  }

  /**
   * Complete the workflow's pending task with this reference name (Conductor's
   * POST /tasks/{workflowId}/{taskRefName}/COMPLETED; the output is merged into the task's).
   * Returns the task id. Throws TaskNotFoundError when no such task is pending.
   */
  async completeTaskByRef(workflowId: string, taskRefName: string, output: Record<string, unknown> = {}): Promise<string> {
    const id = await this.conductor.updateTaskByRef(workflowId, taskRefName, "COMPLETED", output);
    if (!id)
      throw new TaskNotFoundError(
        `workflow ${workflowId} has no pending task "${taskRefName}" (unknown workflow, wrong reference name, or the task already ended)`,
      );
    return id;
  }

  /** Fail the workflow's pending task with this reference name, with a reason. Returns the task id. */
  async failTaskByRef(workflowId: string, taskRefName: string, reason: string, opts: FailOptions = {}): Promise<string> {
    // The by-reference endpoint cannot carry a reason: find the task and update it by id.
    const wf = await this.workflowOrNotFound(workflowId);
    const task = (wf.tasks ?? []).find((t) => t.referenceTaskName === taskRefName && !isTerminalTask(String(t.status)));
    if (!task) throw new TaskNotFoundError(`workflow ${workflowId} has no pending task "${taskRefName}"`);
    await this.failTask(task.taskId, reason, opts);
    return task.taskId;
  }

  /** Start a workflow; answers its id. */
  startWorkflow(name: string, input: Record<string, unknown> = {}, opts: StartOptions = {}): Promise<string> {
    return this.conductor.startWorkflow(name, input, opts);
  }

  /** Start a workflow and wait until it ends (default at most 60 s); answers the workflow with its output and tasks. */
  async runWorkflow(name: string, input: Record<string, unknown> = {}, opts: StartOptions & { timeoutMs?: number } = {}): Promise<Workflow> {
    const id = await this.startWorkflow(name, input, opts);
    return waitForWorkflow(this.conductor, id, { timeoutMs: opts.timeoutMs, includeTasks: true });
  }

  /** Wait for a running workflow to end. */
  waitForWorkflow(workflowId: string, opts: { timeoutMs?: number } = {}): Promise<Workflow> {
    return waitForWorkflow(this.conductor, workflowId, { timeoutMs: opts.timeoutMs, includeTasks: true });
  }

  getWorkflow(workflowId: string): Promise<Workflow> {
    return this.conductor.getWorkflow(workflowId, true);
  }

  /** Close idle connections (only when this client made them). */
  close(): void {
    if (this.owned) this.conductor.close();
  }

  private async update(taskId: string, r: Omit<TaskResult, "taskId" | "workflowInstanceId">): Promise<void> {
    // POST /tasks needs the workflow id as well: read the task first.
    const task = await this.conductor.getTask(taskId);
    if (!task) throw new TaskNotFoundError(`no task with id ${taskId}`);
    await this.conductor.updateTask({ taskId, workflowInstanceId: task.workflowInstanceId, ...r });
  }

  private async workflowOrNotFound(workflowId: string): Promise<Workflow> {
    try {
      return await this.conductor.getWorkflow(workflowId, true);
    } catch (err) {
      if (err instanceof ConductorError && err.status === 404) throw new TaskNotFoundError(`no workflow with id ${workflowId}`);
      throw err;
    }
  }
}

function isTerminalTask(status: string): boolean {
  return !["SCHEDULED", "IN_PROGRESS"].includes(status);
}
