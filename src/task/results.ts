/**
 * Result helpers a task may return instead of a plain output object.
 * A plain object means COMPLETED with that object as output.
 */

const IN_PROGRESS = Symbol.for("idflow.inProgress");

export interface InProgressResult {
  readonly [IN_PROGRESS]: true;
  /** Seconds until Conductor hands the same task out again. */
  readonly callbackAfterSeconds: number;
  /** Output so far (replaces the task's outputData). */
  readonly output?: Record<string, unknown>;
}

/** Report the task as still running; Conductor polls it out again after `callbackAfterSeconds`. */
export function inProgress(opts: { callbackAfterSeconds: number; output?: Record<string, unknown> }): InProgressResult {
  if (!Number.isFinite(opts.callbackAfterSeconds) || opts.callbackAfterSeconds < 0) {
    throw new TypeError(`inProgress: callbackAfterSeconds must be a number >= 0, got ${String(opts.callbackAfterSeconds)}`);
  }
  return { [IN_PROGRESS]: true, callbackAfterSeconds: opts.callbackAfterSeconds, output: opts.output };
}

export function isInProgress(value: unknown): value is InProgressResult {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[IN_PROGRESS] === true;
}
