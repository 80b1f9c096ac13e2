/** Reading the local server's log: the last lines, and following it as it grows. */
import { closeSync, openSync, readSync, statSync } from "node:fs";

/** The last `n` lines of a file, reading from byte `from` on (at most the last 256 KB). */
export function tailLines(file: string, n: number, from = 0): string {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return "(no log yet)";
  }
  try {
    const size = statSync(file).size;
    const start = Math.max(from, size - 256 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString("utf8").replace(/\s+$/, "").split(/\r?\n/);
    return lines.slice(-n).join("\n");
  } finally {
    closeSync(fd);
  }
}

/** Calls `onChunk` with what is appended to `file` until the returned stop function is called. */
export function followFile(file: string, onChunk: (text: string) => void, intervalMs = 250): () => void {
  let pos = (() => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  })();
  const listener = () => {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size < pos) pos = 0; // truncated or replaced
    if (size === pos) return;
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(size - pos);
      readSync(fd, buf, 0, buf.length, pos);
      pos = size;
      onChunk(buf.toString("utf8"));
    } finally {
      closeSync(fd);
    }
  };
  // Our own polling against `pos`, not fs.watchFile: watchFile takes its first stat later, so
  // text appended right after this call would become its baseline and never be reported.
  const timer = setInterval(listener, intervalMs);
  return () => clearInterval(timer);
}
