import type { Task } from "../conductor/types.ts";
import type { BatchesOptions, BatchRun } from "./batches.ts";

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
  /**
   * Aborts on shutdown past the grace period, when execTimeoutSeconds runs out, or when a
   * heartbeat or checkpoint finds the task cancelled on the server (workflow terminated).
   */
  readonly signal: AbortSignal;
  /** A line for the task's execution log in Conductor (sent with the result). */
  log(message: string): void;
  /** Extend the task's lease now (and stop the task if the server cancelled it). */
  heartbeat(): Promise<void>;
  /**
   * Save progress in the task's output on the server (JSON; the latest state wins, at most one
   * update per checkpointIntervalMs). A later attempt of this task gets it as `resumeFrom`.
   * With `{ flush: true }` it is sent at once and the promise resolves when the server has it.
   */
  checkpoint(state: unknown, options?: { flush?: boolean }): Promise<void>;
  /** The state the last checkpoint of an earlier attempt saved; undefined on a fresh start. */
  readonly resumeFrom?: unknown;
  /** `items` in batches of `size`, checkpointed after each batch and skipped on resume (see batches.ts). */
  batches<T>(items: Iterable<T> | AsyncIterable<T>, size: number, options?: BatchesOptions): BatchRun<T>;
  /** The raw task as polled. */
  readonly task: Task;
}

/** A task function: input in, output (a JSON-serialisable object) or a result helper out. */
// biome-ignore lint/suspicious/noExplicitAny: the defaults must accept every task function, whatever its input type (unknown would reject typed inputs)
export type TaskFunction<I = any, O = any> = (input: I, ctx: TaskContext) => O | Promise<O>;
