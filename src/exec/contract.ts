/**
 * The result contract (the one the Orkes CLI documents for `worker exec`), mapped onto idflow's
 * result vocabulary so that the executor reports it like any TypeScript task:
 *   {"status": "COMPLETED|FAILED|FAILED_WITH_TERMINAL_ERROR|IN_PROGRESS", "output": {...},
 *    "logs": ["..."], "reason": "...", "callbackAfterSeconds": N}
 * COMPLETED returns the output; IN_PROGRESS returns inProgress(); FAILED throws RetryableError
 * (Conductor retries); FAILED_WITH_TERMINAL_ERROR throws TerminalError (never retried). Anything
 * else (a non-zero exit, nothing or not JSON on stdout, an unknown status) throws a
 * ProgramError whose message quotes what went wrong and the last lines the program wrote.
 */
import { RetryableError, TerminalError } from "../task/errors.ts";
import { inProgress } from "../task/results.ts";

export const RESULT_STATUSES = ["COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "IN_PROGRESS"] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/** Lines of stdout/stderr quoted in a failure reason. */
export const TAIL_LINES = 5;
/** Characters of one tail quoted in a reason (Conductor's reason is kept short). */
const TAIL_CHARS = 700;

export const EXAMPLE_RESULT = '{"status":"COMPLETED","output":{...}}';

/** The program misbehaved (as opposed to reporting FAILED itself): FAILED, retried by Conductor. */
export class ProgramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProgramError";
    // The stack would point into idflow, not at the program: keep it out of the task's log.
    this.stack = undefined;
  }
}

/** The last lines of a stream, for a reason: `stderr: "a" | "b"`. */
export function quoteTail(label: string, lines: string[]): string {
  const kept = lines
    .map((l) => l.trimEnd())
    .filter((l) => l !== "")
    .slice(-TAIL_LINES);
  if (kept.length === 0) return "";
  let text = kept.join(" | ");
  if (text.length > TAIL_CHARS) text = `…${text.slice(-TAIL_CHARS)}`;
  return `; last ${label}: ${text}`;
}

/** The last lines of a text (stdout is read whole). */
export function lastLines(text: string, n = TAIL_LINES): string[] {
  const end = text.length > 64 * 1024 ? text.slice(-64 * 1024) : text;
  return end
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "")
    .slice(-n);
}

/** Problems with an answer object, each naming the field and what is expected. */
export function checkAnswer(answer: unknown): string | undefined {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
    return `the result must be a JSON object like ${EXAMPLE_RESULT}, got ${Array.isArray(answer) ? "an array" : JSON.stringify(answer)?.slice(0, 80)}`;
  }
  const a = answer as Record<string, unknown>;
  if (a.status === undefined) return `the result has no "status": expected one of ${RESULT_STATUSES.join(", ")}, e.g. ${EXAMPLE_RESULT}`;
  if (typeof a.status !== "string" || !(RESULT_STATUSES as readonly string[]).includes(a.status)) {
    return `unknown status ${JSON.stringify(a.status)}: expected one of ${RESULT_STATUSES.join(", ")}`;
  }
  if (a.output !== undefined && a.output !== null && (typeof a.output !== "object" || Array.isArray(a.output))) {
    return `"output" must be a JSON object, got ${Array.isArray(a.output) ? "an array" : typeof a.output}`;
  }
  if (a.logs !== undefined && !Array.isArray(a.logs)) return `"logs" must be an array of strings, got ${typeof a.logs}`;
  if (a.reason !== undefined && a.reason !== null && typeof a.reason !== "string") return `"reason" must be a string, got ${typeof a.reason}`;
  const cb = a.callbackAfterSeconds;
  if (cb !== undefined && cb !== null && !(typeof cb === "number" && Number.isFinite(cb) && cb >= 0)) {
    return `"callbackAfterSeconds" must be a number >= 0, got ${JSON.stringify(cb)}`;
  }
  return undefined;
}

/**
 * A checked answer → what a task function returns or throws. Its `logs` go to `log` (the task's
 * log in Conductor) first.
 */
export function settleAnswer(answer: Record<string, unknown>, log: (line: string) => void): unknown {
  if (Array.isArray(answer.logs)) for (const l of answer.logs) log(typeof l === "string" ? l : JSON.stringify(l));
  const output = (answer.output ?? undefined) as Record<string, unknown> | undefined;
  const reason = typeof answer.reason === "string" && answer.reason !== "" ? answer.reason : undefined;
  switch (answer.status as ResultStatus) {
    case "COMPLETED":
      return output ?? {};
    case "IN_PROGRESS":
      return inProgress({ callbackAfterSeconds: Number(answer.callbackAfterSeconds ?? 0), output });
    case "FAILED":
      throw withoutStack(new RetryableError(reason ?? "the program reported FAILED (it gave no reason)", { output }));
    case "FAILED_WITH_TERMINAL_ERROR":
      throw withoutStack(new TerminalError(reason ?? "the program reported FAILED_WITH_TERMINAL_ERROR (it gave no reason)", { output }));
  }
}

function withoutStack<E extends Error>(e: E): E {
  e.stack = undefined;
  return e;
}

/** What one run of a program left behind (per-task mode). */
export interface ProcessOutcome {
  /** How the command is shown: `python3 worker.py`. */
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last stderr lines. */
  stderrTail: string[];
  /** Set when stdout went past the limit (the program was stopped). */
  overflowBytes?: number;
}

/** A finished process → the task function's value (or a throw), per the contract. */
export function settleProcess(o: ProcessOutcome, log: (line: string) => void): unknown {
  const tails = () => quoteTail("stdout", lastLines(o.stdout)) + quoteTail("stderr", o.stderrTail);
  if (o.overflowBytes !== undefined) {
    throw new ProgramError(`${o.command} wrote more than ${o.overflowBytes} bytes on stdout for one task and was stopped${quoteTail("stderr", o.stderrTail)}`);
  }
  if (o.signal) throw new ProgramError(`${o.command} was killed by ${o.signal}${tails()}`);
  if (o.code !== 0) throw new ProgramError(`${o.command} exited with code ${o.code}${tails()}`);
  const text = o.stdout.trim();
  if (text === "") {
    throw new ProgramError(
      `${o.command} exited with code 0 but printed nothing on stdout: print one JSON object like ${EXAMPLE_RESULT}${quoteTail("stderr", o.stderrTail)}`,
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch (err) {
    throw new ProgramError(
      `${o.command} printed invalid JSON on stdout (${(err as Error).message}): print exactly one JSON object like ${EXAMPLE_RESULT}${tails()}`,
    );
  }
  const problem = checkAnswer(answer);
  if (problem) throw new ProgramError(`${o.command}: ${problem}${quoteTail("stderr", o.stderrTail)}`);
  return settleAnswer(answer as Record<string, unknown>, log);
}
