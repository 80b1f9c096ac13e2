import type { Task } from "../conductor/types.ts";

/** What a task function gets beside its input. The runtime builds one per execution. */
export interface TaskContext {
  /** Conductor's id of this task execution. */
  readonly taskId: string;
  /** The workflow this task belongs to. */
  readonly workflowInstanceId: string;
  /** The task type (the worker's name). */
  readonly taskType: string;
  /** The reference name of this task inside its workflow. */
  readonly referenceTaskName: string;
  /** 0 on the first try, +1 on every Conductor retry. */
  readonly retryCount: number;
  /** How many times this task was handed out (grows with IN_PROGRESS callbacks). */
  readonly pollCount: number;
  /** The worker id this process polls with. */
  readonly workerId: string;
  /** Aborts on shutdown past the grace period, or when execTimeoutSeconds runs out. */
  readonly signal: AbortSignal;
  /** A line for the task's execution log in Conductor (sent with the result). */
  log(message: string): void;
  /** Extend the task's lease now (an IN_PROGRESS update with extendLease). */
  heartbeat(): Promise<void>;
  /** The raw task as polled. */
  readonly task: Task;
}

/** A task function: input in, output (a JSON-serialisable object) or a result helper out. */
export type TaskFunction<I = any, O = any> = (input: I, ctx: TaskContext) => O | Promise<O>;
