/**
 * A result's JSON, made from the output's JSON that the executor already has. The executor
 * serialises a task's output once when the task ends, to check that JSON can carry it; an output
 * of 1 KB of JSON or more keeps that text (executor.ts OUTPUT_JSON_KEPT_FROM) as a snapshot of
 * what the task returned at that moment, whatever the object becomes later. The text rides on the
 * result under a symbol that is not enumerable, so a copy made with a spread (an output merged
 * with checkpoint progress) does not take a text that no longer matches its output. The request
 * body and the spool line are the rest of the result serialised with the output's text spliced
 * in: no second JSON.stringify of the output, and no JSON.parse to make a normalised copy of it
 * (for an output of 64 KB those were half of a task's CPU; docs/performance.md).
 */
import type { TaskResult } from "../conductor/types.ts";

const OUTPUT_JSON = Symbol("idflow.outputJson");

type WithOutputJson = TaskResult & { [OUTPUT_JSON]?: string };

/** Attach `json`, the JSON of `r.outputData` as it was when the task ended (nothing when undefined). Returns `r`. */
export function withOutputJson(r: TaskResult, json: string | undefined): TaskResult {
  if (json === undefined) return r;
  Object.defineProperty(r, OUTPUT_JSON, { value: json, enumerable: false, writable: false, configurable: false });
  return r;
}

/** The output's JSON attached to `r`, if any. */
export function outputJsonOf(r: TaskResult): string | undefined {
  return (r as WithOutputJson)[OUTPUT_JSON];
}

/** `copy` (a spread of `r` that kept its output) with `r`'s output JSON. */
export function sameOutput(r: TaskResult, copy: TaskResult): TaskResult {
  const json = outputJsonOf(r);
  return json !== undefined && copy.outputData === r.outputData ? withOutputJson(copy, json) : copy;
}

/**
 * JSON.stringify(r), with the output's attached JSON instead of serialising the output again.
 * The server reads the same result (the keys may come in another order).
 */
export function resultJson(r: TaskResult): string {
  const out = outputJsonOf(r);
  if (out === undefined || r.outputData === undefined) return JSON.stringify(r);
  const { outputData: _, ...rest } = r;
  const head = JSON.stringify(rest);
  return head === "{}" ? `{"outputData":${out}}` : `${head.slice(0, -1)},"outputData":${out}}`;
}

/**
 * The result as the server will read it: its output JSON round-tripped (Dates become strings,
 * undefined fields vanish) from the attached snapshot, with no text attached. For a result kept a
 * while (the backlog), so that it no longer refers to the task's own objects.
 */
export function settledResult(r: TaskResult): TaskResult {
  const out = outputJsonOf(r);
  if (out === undefined || r.outputData === undefined) return r;
  return { ...r, outputData: JSON.parse(out) as Record<string, unknown> };
}
