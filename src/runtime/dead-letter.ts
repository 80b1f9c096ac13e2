/**
 * Dead letters: results Conductor refuses for good (a 4xx other than 404, a 5xx that says
 * `retryable: false` again and again). Each goes, with the server's answer, as one JSON line to
 * `<stateDir>/dead-letter.jsonl`, so one bad result never blocks the ones behind it and nothing is
 * silently lost: a person can read the file, fix the cause and send the result again.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { TaskResult } from "../conductor/types.ts";

export interface DeadLetter {
  /** ISO time it was set aside. */
  time: string;
  taskId: string;
  workflowInstanceId: string;
  /** The server's answer: HTTP status and body (Conductor's error JSON or text). */
  server: { status?: number; body?: unknown; message: string };
  result: TaskResult;
}

export function deadLetterFile(stateDir: string): string {
  return path.join(stateDir, "dead-letter.jsonl");
}

/** Append one dead letter; returns false (never throws) when the file cannot be written. */
export function writeDeadLetter(file: string, letter: DeadLetter): boolean {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    appendFileSync(file, `${JSON.stringify(letter)}\n`);
    return true;
  } catch {
    return false;
  }
}
