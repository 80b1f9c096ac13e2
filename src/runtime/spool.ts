/**
 * The result spool: JSON-lines files under `<stateDir>/spool/` holding results that could not
 * be delivered yet. It serves two purposes:
 *  - overflow while the server is away (results beyond the in-memory bound are appended to a
 *    live file, read back in order once the backlog drains), so memory stays bounded;
 *  - hand-over between runs: on shutdown whatever is undelivered is written to a new spool
 *    file (temp file + fsync + rename, so a crash never leaves half a file under a final name),
 *    and the next `worker start` claims those files and delivers them before anything else.
 * Readers skip a torn last line (a crash mid-append) instead of failing. Claiming renames a file
 * to `<name>.claimed-<pid>`; files claimed by a process that is gone are taken over. A result can
 * at worst be delivered twice (Conductor ignores an update to a finished task), never lost.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import type { TaskResult } from "../conductor/types.ts";

/** One undelivered result and what the delivery already did to it. */
export interface SpoolEntry {
  result: TaskResult;
  /** True once the result was replaced by a minimal FAILED after the server refused it (400). */
  downgraded?: boolean;
}

interface DiskFile {
  path: string;
  offset: number;
  /** Entries handed out but not yet acknowledged with done(). */
  outstanding: number;
  /** Fully read. */
  eof: boolean;
  /** The live append file of this process. */
  live: boolean;
}

export function spoolDir(stateDir: string): string {
  return path.join(stateDir, "spool");
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function stamp(): string {
  return `${Date.now().toString().padStart(15, "0")}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Write entries durably to a new spool file; returns its path (undefined when there is nothing to write). */
export function writeSpoolFile(dir: string, lines: string[]): string | undefined {
  if (lines.length === 0) return undefined;
  mkdirSync(dir, { recursive: true });
  const final = path.join(dir, `r-${stamp()}.jsonl`);
  const tmp = `${final}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, lines.join("\n") + "\n");
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, final);
  return final;
}

/** A FIFO of spool entries on disk: claimed spool files first, then this process's live overflow file. */
export class DiskQueue {
  private files: DiskFile[] = [];
  /** Lines that could not be parsed (torn writes), skipped. */
  corrupt = 0;
  /** Entries appended to the live file since start. */
  appended = 0;

  constructor(readonly dir: string) {}

  /** Claim every pending spool file in the directory (oldest first). Returns how many files. */
  claim(): number {
    if (!existsSync(this.dir)) return 0;
    const names = readdirSync(this.dir).sort();
    let n = 0;
    for (const name of names) {
      if (name.endsWith(".tmp")) continue;
      let claimable = false;
      if (name.endsWith(".jsonl")) claimable = true;
      else {
        const m = /\.(claimed|live)-(\d+)$/.exec(name);
        if (m && !pidAlive(Number(m[2]))) claimable = true;
      }
      if (!claimable) continue;
      const base = name.replace(/\.(claimed|live)-\d+$/, "");
      const target = path.join(this.dir, `${base.endsWith(".jsonl") ? base : `${base}.jsonl`}.claimed-${process.pid}`);
      try {
        renameSync(path.join(this.dir, name), target);
      } catch {
        continue; // another process took it first
      }
      this.files.push({ path: target, offset: 0, outstanding: 0, eof: false, live: false });
      n++;
    }
    return n;
  }

  /** True when some entry on disk has not been read yet. */
  get hasUnread(): boolean {
    return this.files.some((f) => !f.eof);
  }

  /** Append one entry to the live overflow file. */
  append(entry: SpoolEntry): void {
    let live = this.files.at(-1);
    if (!live || !live.live) {
      mkdirSync(this.dir, { recursive: true });
      const p = path.join(this.dir, `s-${stamp()}.jsonl.live-${process.pid}`);
      live = { path: p, offset: 0, outstanding: 0, eof: false, live: true };
      this.files.push(live);
    }
    appendFileSync(live.path, JSON.stringify(entry) + "\n");
    live.eof = false;
    this.appended++;
  }

  /** Read up to `max` entries in order. Each comes with a token to pass to done() once handled. */
  read(max: number): Array<{ entry: SpoolEntry; token: object; recovered: boolean }> {
    const out: Array<{ entry: SpoolEntry; token: object; recovered: boolean }> = [];
    for (const f of this.files) {
      if (out.length >= max) break;
      if (f.eof) continue;
      for (const line of this.readLines(f, max - out.length)) {
        try {
          const entry = JSON.parse(line) as SpoolEntry;
          if (entry && typeof entry === "object" && entry.result?.taskId) {
            f.outstanding++;
            out.push({ entry, token: f, recovered: !f.live });
          } else this.corrupt++;
        } catch {
          this.corrupt++;
        }
      }
    }
    this.collect();
    return out;
  }

  /** An entry from read() was delivered or dropped: files fully handled are removed. */
  done(token: object): void {
    const f = token as DiskFile;
    f.outstanding--;
    this.collect();
  }

  /** Raw unread lines of every file (for the final spool at shutdown). */
  unreadLines(): string[] {
    const out: string[] = [];
    for (const f of this.files) if (!f.eof) out.push(...this.readLines(f, Number.MAX_SAFE_INTEGER));
    return out;
  }

  /** Remove every file this queue holds (after their content was written elsewhere). */
  removeAll(): void {
    for (const f of this.files) safeUnlink(f.path);
    this.files = [];
  }

  private collect(): void {
    while (this.files.length && this.files[0].eof && this.files[0].outstanding <= 0) {
      const f = this.files.shift()!;
      safeUnlink(f.path);
    }
  }

  private readLines(f: DiskFile, max: number): string[] {
    const lines: string[] = [];
    let size: number;
    try {
      size = statSync(f.path).size;
    } catch {
      f.eof = true;
      return lines;
    }
    const fd = openSync(f.path, "r");
    try {
      let chunk = 1 << 20;
      while (lines.length < max && f.offset < size) {
        const len = Math.min(chunk, size - f.offset);
        const buf = Buffer.allocUnsafe(len);
        const got = readSync(fd, buf, 0, len, f.offset);
        let start = 0;
        let nl: number;
        while (lines.length < max && (nl = buf.indexOf(10, start)) !== -1 && nl < got) {
          const line = buf.toString("utf8", start, nl).trim();
          if (line) lines.push(line);
          start = nl + 1;
        }
        if (start === 0 && lines.length < max) {
          if (f.offset + got >= size) {
            // A torn last line (crash mid-append): skip it.
            if (buf.toString("utf8", 0, got).trim() && !f.live) this.corrupt++;
            if (!f.live) f.offset = size;
            break;
          }
          chunk *= 2; // a line longer than the chunk
          continue;
        }
        f.offset += start;
      }
      if (f.offset >= size) f.eof = true;
    } finally {
      closeSync(fd);
    }
    return lines;
  }
}

function safeUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}
