import type { ConductorErrorBody, ValidationError } from "./types.ts";

/**
 * The one error type for anything that went wrong talking to Conductor. Its message says
 * what was called, what came back and what to do; it never carries headers or secrets.
 */
export class ConductorError extends Error {
  /** HTTP status, or undefined when no answer came back (connection refused, timeout). */
  readonly status?: number;
  /** e.g. "GET /api/metadata/taskdefs/x". */
  readonly call: string;
  /** Conductor's own message, if it sent one. */
  readonly serverMessage?: string;
  readonly validationErrors: ValidationError[];
  /** Low-level code for network failures (ECONNREFUSED, ETIMEDOUT, ECONNRESET...). */
  readonly code?: string;
  /** The body as received (parsed JSON or text). */
  readonly body?: unknown;

  constructor(init: {
    call: string;
    status?: number;
    body?: unknown;
    code?: string;
    message: string;
  }) {
    super(init.message);
    this.name = "ConductorError";
    this.call = init.call;
    this.status = init.status;
    this.code = init.code;
    this.body = init.body;
    const b = (typeof init.body === "object" && init.body !== null ? init.body : {}) as ConductorErrorBody;
    this.serverMessage = b.message ?? (typeof init.body === "string" && init.body ? init.body : undefined);
    this.validationErrors = Array.isArray(b.validationErrors) ? b.validationErrors : [];
  }

  /** True when no HTTP answer came back: the server is down, unreachable or too slow. */
  get unreachable(): boolean {
    return this.status === undefined;
  }

  /** True for answers worth trying again later (no answer, 429, 5xx). */
  get transient(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

export function describeValidationErrors(errors: ValidationError[]): string {
  return errors
    .map((e) => `  - ${e.path ? `${e.path}: ` : ""}${e.message ?? "invalid"}${e.invalidValue !== undefined ? ` (got ${JSON.stringify(e.invalidValue)})` : ""}`)
    .join("\n");
}
