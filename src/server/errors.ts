/**
 * The one error type of the local-server room. Its message is for a person: what went wrong,
 * where, and what to do. `exitCode` lets the CLI print it without a stack trace.
 */
export class ServerError extends Error {
  constructor(
    message: string,
    /** 1 for a failure, 2 for a usage mistake (a bad flag value). */
    readonly exitCode = 1,
    /** A short machine-readable reason, e.g. "no-java", "port-taken". */
    readonly reason: string = "failure",
  ) {
    super(message);
    this.name = "ServerError";
  }
}
