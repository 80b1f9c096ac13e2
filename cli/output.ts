/**
 * Printing for people (stderr, colour only on a TTY without NO_COLOR) and for machines
 * (--json on stdout), and the one place that turns an error into a message and an exit code.
 * Exit codes: 0 ok, 1 failure, 2 usage or validation error, 130 after a second interrupt.
 */
import { ConductorError } from "../src/conductor/errors.ts";

const useColour = process.stderr.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (useColour ? `\u001b[${code}m${s}\u001b[0m` : s);
export const colour = { red: paint(31), green: paint(32), yellow: paint(33), dim: paint(2), bold: paint(1) };

/** A line for people, on stderr. */
export function say(line = ""): void {
  process.stderr.write(`${line}\n`);
}

/** Machine-readable output on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** An error a person can act on; `exitCode` 1 unless said otherwise. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** Print an error without a stack (unless verbose) and return its exit code. */
export function reportError(err: unknown, verbose: boolean): number {
  const e = err as { message?: string; exitCode?: number; stack?: string };
  const known = err instanceof UserError || err instanceof ConductorError || typeof e?.exitCode === "number";
  say(`${colour.red("error:")} ${e?.message ?? String(err)}`);
  if (verbose && e?.stack) say(colour.dim(e.stack));
  else if (!known) say(colour.dim("(run with --verbose for the stack trace)"));
  return typeof e?.exitCode === "number" ? e.exitCode : 1;
}

/** A plain table: columns padded to the widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c ?? "").padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
