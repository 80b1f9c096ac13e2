/** Printing shared by the workflow commands: status colours and the one-line progress display on a terminal. */
import { colour } from "../../output.ts";

const GOOD = new Set(["COMPLETED"]);
const BAD = new Set(["FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "TERMINATED", "CANCELED", "COMPLETED_WITH_ERRORS"]);
const BUSY = new Set(["RUNNING", "IN_PROGRESS", "SCHEDULED", "PAUSED"]);

/** Colour `text` by the status it shows (only on a TTY without NO_COLOR: see output.ts). */
export function paintStatus(status: string, text: string): string {
  if (GOOD.has(status)) return colour.green(text);
  if (BAD.has(status)) return colour.red(text);
  if (BUSY.has(status)) return colour.yellow(text);
  return colour.dim(text);
}

/** A progress line rewritten in place on a terminal (stderr); silent off a terminal. */
export function progressLine(enabled = Boolean(process.stderr.isTTY)): { update(text: string): void; clear(): void } {
  let shown = false;
  return {
    update(text: string) {
      if (!enabled) return;
      const width = Math.max(20, (process.stderr.columns || 100) - 1);
      process.stderr.write(`\r\u001b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      shown = true;
    },
    clear() {
      if (enabled && shown) process.stderr.write("\r\u001b[K");
      shown = false;
    },
  };
}
