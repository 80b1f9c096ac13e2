/** Errors of the programmatic API that callers test with instanceof (kept in a light module: src/index.ts loads it eagerly). */

/** Asked to finish a task that is not there (unknown id, or no pending task with that reference name). */
export class TaskNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskNotFoundError";
  }
}
