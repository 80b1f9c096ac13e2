/** Errors a task author throws to steer the result. Any other thrown error means FAILED (retried). */

/** FAILED_WITH_TERMINAL_ERROR: Conductor will not retry the task. */
export class TerminalError extends Error {
  readonly output?: Record<string, unknown>;
  constructor(message: string, options?: { output?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "TerminalError";
    this.output = options?.output;
  }
}

/** FAILED with an output: Conductor retries per the task definition. */
export class RetryableError extends Error {
  readonly output?: Record<string, unknown>;
  constructor(message: string, options?: { output?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "RetryableError";
    this.output = options?.output;
  }
}

/**
 * The reason `ctx.signal` carries when the server cancelled the task (its workflow was
 * terminated, or it was finished or handed to another worker elsewhere). Nothing is reported.
 */
export class TaskCancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskCancelledError";
  }
}
