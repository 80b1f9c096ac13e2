/**
 * The result spool: a write-ahead log of results under `<stateDir>/spool/`. Every result is
 * appended here (durable) before it is sent, and marked done after the server's answer, so a
 * process that dies (SIGKILL, OOM, a crash) leaves its undelivered results on disk and the next
 * start delivers them.
 *
 * Files:
 *  - `lease-<runId>`: who owns a run's segments. Written at open, its mtime refreshed every
 *    `refreshMs`; records host, pid and process start. A run is dead when its lease is missing,
 *    older than `staleMs`, or names this host and a pid that is gone (or is this very pid but
 *    another process start: containers restart as pid 1). Never the pid alone.
 *  - `wal-<created>-<seq>-<runId>.jsonl`: segments, JSON lines `{"p":id,"e":entry}` (a result put)
 *    and `{"d":id}` (done). A new segment starts past `segmentBytes`; a segment with no pending
 *    put left is deleted. The `<created>` stamp keeps the order across runs.
 *
 * Group commit: puts are buffered until the microtasks of the current callback are done (with
 * "always", for one turn of the event loop) and written with one write for the whole batch, then
 * synced per SpoolSync; each put resolves once its batch is written.
 * Done markers ride along with the next batch of puts (or, once nothing flows, with the lease's
 * next refresh) and are never synced on their own: losing one only means a result is sent twice,
 * which Conductor ignores for a finished task.
 *
 * Claiming: a live run takes over a dead run's segments by renaming each to its own run id (an
 * atomic rename: two claimants never both win), then reads the pending puts. A lease lost while
 * this process was stopped (SIGSTOP, a VM pause) is noticed at the next refresh: the lease is
 * re-made and what this process still holds in memory is appended again.
 *
 * Disk errors (ENOSPC, EACCES, EROFS...) never throw out of here and never drop a result: the
 * batch stays in memory, one error line is logged, and writing is retried after `retryMs`
 * (re-appending every result that never reached the disk).
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
  fdatasyncSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import type { TaskResult } from "../conductor/types.ts";
import { InFlight, type InFlightEntry } from "./in-flight.ts";

/**
 * When spool appends reach the device:
 *  - "background" (default): each batch is written (to the OS) before its results are sent, and
 *    a result still undelivered BACKGROUND_SYNC_AFTER_MS (1 s) later is fdatasynced, without
 *    holding the sends back. Survives any death of the process (SIGKILL, OOM, a crash); a power
 *    loss or kernel crash can lose the results of about the last second that were not delivered
 *    yet, as it loses the tasks running at that moment (Conductor retries both after their
 *    response timeout).
 *  - "always": fdatasync before the results are sent. Survives a power loss too; costs a sync
 *    per batch on every task's path (see docs/performance.md).
 *  - "never": written to the OS only, never synced by idflow (the OS syncs within seconds).
 */
export type SpoolSync = "always" | "background" | "never";

/** One undelivered result and what the delivery already did to it. */
export interface SpoolEntry {
  result: TaskResult;
  /** The worker (task type) that made it, for the metrics; absent in spools an older idflow wrote. */
  worker?: string;
  /** True once the result was replaced by a minimal FAILED after the server refused it. */
  downgraded?: boolean;
}

/** Where a put sits on disk (to read it back when it was evicted from memory). */
export interface SpoolLocation {
  segment: Segment;
  offset: number;
  length: number;
}

/** A result the journal holds until done(). */
export interface JournalRecord {
  id: string;
  /** In memory; undefined when evicted (read it back with load()). */
  entry?: SpoolEntry;
  /**
   * `entry.result` as JSON, made once by put() for the spool line and kept for the request body
   * (serialising a result of several MB costs milliseconds each time). Dropped with the entry, and
   * by whoever replaces `entry.result`.
   */
  json?: string;
  /** On disk, once its batch was written. */
  loc?: SpoolLocation;
  /** True once the put is on disk (synced per the policy). */
  durable: boolean;
  /** True for results taken over from an earlier run. */
  recovered: boolean;
  /** The journal's entry while the record is not done (undefined once done). */
  held?: InFlightEntry<JournalRecord>;
  /** The written batch that holds it, while that batch waits for its background sync. */
  unsynced?: WrittenBatch;
}

/**
 * Puts written together and not synced yet (background sync). Records point at their batch, not
 * the other way round: a result the server has taken is not kept alive by a pending sync.
 */
interface WrittenBatch {
  seg: Segment;
  /** performance.now() of the write. */
  at: number;
  /** Its records not done yet. */
  pending: number;
}

export interface Segment {
  path: string;
  fd: number;
  size: number;
  /** Puts in this segment not done yet. */
  pending: number;
}

export interface JournalOptions {
  dir: string;
  logger: Logger;
  /** When a batch is synced to the device (default "background", see SpoolSync). */
  sync?: SpoolSync;
  /** Start a new segment past this many bytes (default 16 MiB). */
  segmentBytes?: number;
  /** Refresh the lease this often, ms (default 5000). */
  refreshMs?: number;
  /** A lease older than this is a dead run's, ms (default 30000). */
  staleMs?: number;
  /** After a disk error, try the disk again after this long, ms (default 5000). */
  retryMs?: number;
  /** "background": sync a put still undelivered this long after its write, ms (default BACKGROUND_SYNC_AFTER_MS). */
  syncAfterMs?: number;
  /** Write nothing (the benchmark's baseline only: results are then not crash-safe). */
  off?: boolean;
  /** Called with results taken over from a dead run after start (a run that died while we ran). */
  onRecovered?: (records: JournalRecord[]) => void;
}

/** What put() returns when the journal is off: nothing to wait for. */
const WRITTEN = Promise.resolve();

function nextBatch(): { written: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const written = new Promise<void>((r) => (resolve = r));
  return { written, resolve };
}

/** A line waiting in the buffer: a put (with its record) or a done mark. */
interface BufferedLine {
  line: string;
  rec?: JournalRecord;
}

export function spoolDir(stateDir: string): string {
  return path.join(stateDir, "spool");
}

/**
 * Background sync (see syncInBackground): a result still undelivered this long after its write is
 * synced to the device; one the server took sooner needs no sync at all. Also the least time
 * between two background syncs, ms. Above the server's answer time under load (a busy worker's
 * update-v2 round trip is 50-300 ms on a small machine: with 50 ms here, most results of a busy
 * worker at concurrency 10 were synced, 0.15-0.2 ms of CPU per task, docs/performance.md), and
 * short next to the tasks a power loss also takes with it.
 */
export const BACKGROUND_SYNC_AFTER_MS = 1000;
/**
 * While results flow, the longest done marks wait for a put to ride with before a later mark starts
 * a batch of its own, ms (once nothing flows, the lease's refresh writes them; a lost done mark
 * only means a result is sent twice).
 */
export const DONE_WRITE_AFTER_MS = 200;

const SEGMENT_RE = /^wal-(\d{15})-(\d{6})-([a-z0-9]+)\.jsonl$/;
const LEASE_RE = /^lease-([a-z0-9]+)$/;
const processStart = Math.round(Date.now() - process.uptime() * 1000);

interface LeaseInfo {
  runId: string;
  host: string;
  pid: number;
  /** Epoch ms when the owning process started (tells pid 1 of one container start from the next). */
  processStart: number;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class ResultJournal {
  readonly runId = randomBytes(6).toString("hex");
  private readonly sync: SpoolSync;
  private syncing = false;
  /** Segments written since their last background sync. */
  private readonly dirty = new Set<Segment>();
  /** Batches written but not yet synced, in write order (background sync). */
  private unsynced: WrittenBatch[] = [];
  /** Background fdatasyncs started (stats, tests). */
  syncs = 0;
  /** Batches taken from the buffer to be written (stats, tests). */
  batches = 0;
  /** performance.now() when the first done mark still waiting in the buffer came (undefined: none waits). */
  private marksSince?: number;
  private syncTimer?: NodeJS.Timeout;
  /** The written batch the sync timer waits for (its oldest undelivered one when it was armed). */
  private syncTimerFor?: WrittenBatch;
  /** Firings of the sync timer: each one a wake-up of the process (tests). */
  syncTimerFirings = 0;
  /** performance.now() when the last background sync started. */
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  private readonly segmentBytes: number;
  private readonly staleMs: number;
  private readonly retryMs: number;
  private readonly syncAfterMs: number;
  private readonly leasePath: string;
  private readonly segments: Segment[] = [];
  private current?: Segment;
  private seq = 0;
  private nextId = 0;
  private buffer: BufferedLine[] = [];
  /** The promise the puts in the buffer wait on: resolved when the batch that takes them is written (or kept in memory). */
  private nextBatch?: { written: Promise<void>; resolve: () => void };
  private flushing?: Promise<void>;
  private flushScheduled = false;
  private timer?: NodeJS.Timeout;
  /** Records not done yet (a list, not a Map by id: in-flight.ts says why). */
  private readonly records = new InFlight<JournalRecord>();
  /** Disk unusable until this time (epoch ms) after an error; 0 when fine. */
  private degradedUntil = 0;
  private lastError?: string;
  private closed = false;
  /** Lines that could not be parsed in recovered segments (a torn last write). */
  corrupt = 0;

  constructor(private readonly opts: JournalOptions) {
    this.sync = opts.sync ?? "background";
    this.segmentBytes = opts.segmentBytes ?? 16 * 1024 * 1024;
    this.staleMs = opts.staleMs ?? 30_000;
    this.retryMs = opts.retryMs ?? 5000;
    this.syncAfterMs = opts.syncAfterMs ?? BACKGROUND_SYNC_AFTER_MS;
    this.leasePath = path.join(opts.dir, `lease-${this.runId}`);
  }

  /** Results on disk or waiting to be written that are not done. */
  get pending(): number {
    return this.records.size;
  }

  /** True while the disk is failing (results are kept in memory). */
  get degraded(): boolean {
    return this.degradedUntil > 0;
  }

  /** Take the lease and claim dead runs' segments. Returns their pending records, oldest first. */
  open(): JournalRecord[] {
    if (this.opts.off) return [];
    this.diskTry(() => {
      mkdirSync(this.opts.dir, { recursive: true });
      this.writeLease();
    });
    const recovered = this.claimDead();
    this.timer = setInterval(() => this.tick(), this.opts.refreshMs ?? 5000);
    this.timer.unref();
    return recovered;
  }

  /**
   * Append a result; resolves once it is on disk (or kept in memory after a disk error). Never
   * rejects. `json` is `entry.result` already serialised (JSON.stringify), when the caller has it.
   */
  put(entry: SpoolEntry, json = JSON.stringify(entry.result)): { rec: JournalRecord; durable: Promise<void> } {
    const rec: JournalRecord = { id: `${this.runId}.${(this.nextId++).toString(36)}`, entry, json, durable: false, recovered: false };
    rec.held = this.records.add(rec);
    if (this.opts.off) return { rec, durable: WRITTEN };
    // Every put of the buffer's next batch shares one promise (one per batch, not one per result).
    const batch = (this.nextBatch ??= nextBatch());
    this.buffer.push({ line: putLine(rec.id, entry, json), rec });
    if (this.closed)
      this.writeBufferSync(); // a straggler after close: straight to disk for the next start
    else this.schedule();
    return { rec, durable: batch.written };
  }

  /** The result was answered (delivered, refused into the dead letters, or gone): forget it. */
  done(rec: JournalRecord): void {
    if (!this.release(rec) || this.opts.off) return;
    if (rec.loc) rec.loc.segment.pending--;
    // Also when the put is not written yet: it may still be, and must not come back at the next start.
    this.buffer.push({ line: JSON.stringify({ d: rec.id }) });
    this.markWaits();
    this.collect();
  }

  /** The entry of a record, read back from disk when it was evicted from memory. */
  load(rec: JournalRecord): SpoolEntry | undefined {
    if (rec.entry) return rec.entry;
    if (!rec.loc) return undefined;
    try {
      const buf = Buffer.alloc(rec.loc.length);
      readSync(rec.loc.segment.fd, buf, 0, rec.loc.length, rec.loc.offset);
      return (JSON.parse(buf.toString("utf8")) as { e: SpoolEntry }).e;
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message, file: rec.loc.segment.path }, `cannot read result ${rec.id} back from the spool`);
      return undefined;
    }
  }

  /** Drop the in-memory copy of a durable record (it stays on disk). */
  evict(rec: JournalRecord): boolean {
    if (!rec.durable || !rec.loc) return false;
    rec.entry = undefined;
    rec.json = undefined;
    return true;
  }

  /** Wait for every buffered line to be written. */
  async flush(): Promise<void> {
    while (this.flushing || this.buffer.length) {
      if (this.flushing) await this.flushing;
      else await this.runFlush();
    }
  }

  /**
   * Close: write what is buffered (synchronously: also used on a second signal), release the
   * lease and, when nothing is pending, remove the segments. Returns how many results stay spooled.
   */
  close(): number {
    if (this.closed) return this.records.size;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.writeBufferSync();
    if (this.sync !== "never") this.syncDirtyNow();
    // A result that never reached the disk gets one last synchronous try.
    const lost = this.records.values().filter((r) => !r.durable);
    if (lost.length) {
      this.degradedUntil = 0;
      for (const r of lost) if (r.entry) this.buffer.push({ line: lineOf(r), rec: r });
      this.writeBufferSync();
      const still = lost.filter((r) => !r.durable);
      if (still.length) {
        // Nothing else can keep them: say exactly which results are lost so a person can act.
        this.opts.logger.error(
          { results: still.map((r) => r.entry?.result) },
          `${still.length} result(s) could not be written to ${this.opts.dir}: they are in this log line only`,
        );
      }
    }
    for (const s of this.segments) {
      try {
        closeSync(s.fd);
      } catch {
        // already closed
      }
      if (s.pending <= 0 && this.records.size === 0) safeUnlink(s.path);
    }
    this.segments.length = 0;
    this.current = undefined;
    safeUnlink(this.leasePath);
    return this.records.size;
  }

  // ------------------------------------------------------------------ internals

  /**
   * A done mark waits for the next put's batch (one write per task instead of two). While results
   * flow, a mark that finds the marks before it waiting DONE_WRITE_AFTER_MS or more starts a batch
   * itself; once nothing flows, the lease's refresh (tick, every refreshMs) writes marks that have
   * waited that long.
   * No timer of its own: a timer armed per batch woke the process at its deadline even when a batch
   * had taken the marks and cleared it (Node keeps the event loop's timer at the earliest deadline
   * it was given), about five times a second for a busy worker, each wake-up costing more CPU than
   * the write (docs/performance.md, "Timers that woke a busy worker"). A mark not written when the
   * process dies only means its result is sent again at the next start, which Conductor ignores
   * for a finished task.
   */
  private markWaits(): void {
    if (this.flushScheduled || this.closed) return;
    const now = performance.now();
    if (this.marksSince === undefined) this.marksSince = now;
    else if (now - this.marksSince >= DONE_WRITE_AFTER_MS) this.schedule();
  }

  /**
   * Write the buffer once the current callback's microtasks are done: every put made by the same
   * answer (a batch poll's tasks that finish at once, a done mark and the next result) goes in one
   * write, and the send follows in the same turn of the event loop. With a setImmediate here the
   * send (and undici's check of the idle socket, one more setImmediate) moved to later turns:
   * 3.6 epoll wake-ups per request against 3.2 now, at concurrency 10 on the local server
   * (docs/performance.md). With "always", where each batch waits for an fdatasync, a turn of
   * batching is worth more than the turn: setImmediate.
   */
  private schedule(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    (this.sync === "always" ? setImmediate : queueMicrotask)(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    if (!this.flushing) void this.runFlush();
  };

  private runFlush(): Promise<void> {
    const p = this.flushBatch().finally(() => {
      this.flushing = undefined;
      if (this.buffer.length) this.schedule();
    });
    this.flushing = p;
    return p;
  }

  /** Write one batch (one write, one fdatasync when it holds a put). */
  private async flushBatch(): Promise<void> {
    const seg = this.usableSegment();
    const { batch, putsWritten } = this.takeBuffer();
    if (!batch.length) return;
    if (!seg) {
      putsWritten?.(); // kept in memory (the records hold the results)
      return;
    }
    const text = `${batch.map((b) => b.line).join("\n")}\n`;
    const buf = Buffer.from(text, "utf8");
    const start = seg.size;
    try {
      // A write to the OS page cache is microseconds: done synchronously, it spares each batch a
      // thread-pool round trip on every task's path. Only the device sync may take long.
      let done = 0;
      while (done < buf.length) done += writeSync(seg.fd, buf, done, buf.length - done, start + done);
      if (this.sync === "always" && batch.some((b) => b.rec)) await new Promise<void>((res, rej) => fdatasync(seg.fd, (e) => (e ? rej(e) : res())));
    } catch (err) {
      this.diskFailed(err);
      // A partial write leaves a torn line that recovery skips; the next write starts past it.
      try {
        seg.size = fstatSync(seg.fd).size;
      } catch {
        // the fd is unusable: a new segment is opened next time
      }
      putsWritten?.(); // kept in memory
      return;
    }
    seg.size = start + buf.length;
    const written: WrittenBatch | undefined = this.sync === "background" ? { seg, at: performance.now(), pending: 0 } : undefined;
    this.diskOk();
    let offset = start;
    for (const b of batch) {
      const len = Buffer.byteLength(b.line);
      if (b.rec) {
        if (b.rec.held) {
          b.rec.loc = { segment: seg, offset, length: len };
          b.rec.durable = true;
          seg.pending++;
          if (written) {
            this.unmarkUnsynced(b.rec);
            b.rec.unsynced = written;
            written.pending++;
          }
        }
      }
      offset += len + 1;
    }
    putsWritten?.();
    if (written?.pending) {
      this.unsynced.push(written);
      this.syncInBackground(seg);
    }
    if (seg.size > this.segmentBytes) this.current = undefined;
    this.collect();
  }

  /** Take a record out of the pending list; false when it was not pending. */
  private release(rec: JournalRecord): boolean {
    if (!rec.held) return false;
    this.records.remove(rec.held);
    rec.held = undefined;
    this.unmarkUnsynced(rec);
    return true;
  }

  /** The record no longer waits for its batch's background sync (done, or written again elsewhere). */
  private unmarkUnsynced(rec: JournalRecord): void {
    const batch = rec.unsynced;
    if (!batch) return;
    rec.unsynced = undefined;
    // The batch the sync timer waits for is all delivered: wait for the next oldest instead (or
    // for nothing). Left armed, the timer would wake the process to find nothing to sync, about
    // once a second while results flow (docs/performance.md, "Timers that woke a busy worker").
    if (--batch.pending === 0 && batch === this.syncTimerFor) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      this.syncTimerFor = undefined;
      if (!this.syncing) this.syncDue();
    }
  }

  /** Synchronous variant for close(). */
  private writeBufferSync(): void {
    const seg = this.usableSegment(true);
    const { batch, putsWritten } = this.takeBuffer();
    if (!batch.length) return;
    if (!seg) {
      putsWritten?.(); // kept in memory
      return;
    }
    const buf = Buffer.from(`${batch.map((b) => b.line).join("\n")}\n`, "utf8");
    try {
      let done = 0;
      while (done < buf.length) done += writeSync(seg.fd, buf, done, buf.length - done, seg.size + done);
      if (this.sync !== "never") fdatasyncSync(seg.fd);
    } catch (err) {
      this.diskFailed(err);
      putsWritten?.(); // kept in memory
      return;
    }
    let offset = seg.size;
    for (const b of batch) {
      const len = Buffer.byteLength(b.line);
      if (b.rec?.held) {
        b.rec.loc = { segment: seg, offset, length: len };
        b.rec.durable = true;
        seg.pending++;
      }
      offset += len + 1;
    }
    seg.size += buf.length;
    putsWritten?.();
  }

  /** The buffer's lines, and the resolver of the promise its puts wait on; the puts from now on wait for the next batch. */
  private takeBuffer(): { batch: BufferedLine[]; putsWritten?: () => void } {
    const batch = this.buffer.splice(0);
    if (batch.length) {
      this.batches++;
      this.marksSince = undefined;
    }
    const putsWritten = this.nextBatch?.resolve;
    this.nextBatch = undefined;
    return { batch, putsWritten };
  }

  /**
   * The background sync: a put still undelivered BACKGROUND_SYNC_AFTER_MS after its write is
   * synced (fdatasync of its segment, in the thread pool, never holding a send back); a put the
   * server answered sooner is never synced, since a power loss can no longer cost it. One sync at
   * a time, at most one per BACKGROUND_SYNC_AFTER_MS. Each sync costs kernel time, a pool thread
   * and an event-loop wake-up: syncing every 50 ms was a fifth of a busy worker's CPU per task on
   * a small VM (docs/performance.md).
   */
  private syncInBackground(seg: Segment): void {
    this.dirty.add(seg);
    if (this.syncing || this.syncTimer) return;
    this.syncDue();
  }

  /** Sync now if an undelivered put is old enough, else wait until the oldest one is (or stop when all are delivered). */
  private syncDue(): void {
    if (this.closed) return;
    this.unsynced = this.unsynced.filter((u) => u.pending > 0);
    const oldest = this.unsynced[0];
    if (!oldest) return;
    const now = performance.now();
    const wait = Math.max(oldest.at + this.syncAfterMs, this.lastSyncAt + this.syncAfterMs) - now;
    if (wait > 0) {
      this.syncTimerFor = oldest;
      this.syncTimer = setTimeout(() => {
        this.syncTimer = undefined;
        this.syncTimerFor = undefined;
        this.syncTimerFirings++;
        if (!this.syncing) this.syncDue();
      }, wait);
      this.syncTimer.unref();
      return;
    }
    // One fdatasync covers everything written to the segment before it starts.
    const seg = oldest.seg;
    const covered = this.unsynced.filter((u) => u.seg === seg);
    this.dirty.delete(seg);
    this.syncing = true;
    this.syncs++;
    this.lastSyncAt = now;
    fdatasync(seg.fd, (err) => {
      this.syncing = false;
      if (err && (err as NodeJS.ErrnoException).code !== "EBADF") this.diskFailed(err);
      else if (!err) {
        const done = new Set(covered);
        this.unsynced = this.unsynced.filter((u) => !done.has(u));
      }
      if (this.unsynced.length && !this.syncTimer) this.syncDue();
    });
  }

  /** At close: sync what the background sync has not reached yet (the fds are still open). */
  private syncDirtyNow(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.syncTimerFor = undefined;
    for (const seg of this.dirty) {
      try {
        fdatasyncSync(seg.fd);
      } catch {
        // closed or failing: the results stay in the OS's cache, which survives this process
      }
    }
    this.dirty.clear();
  }

  /** The segment to append to, opening a new one when needed; undefined while the disk fails. */
  private usableSegment(force = false): Segment | undefined {
    if (!force && this.degradedUntil > Date.now()) return undefined;
    if (this.current) return this.current;
    return this.diskTry(() => {
      mkdirSync(this.opts.dir, { recursive: true });
      if (!this.closed && !existsSync(this.leasePath)) this.writeLease();
      const name = `wal-${Date.now().toString().padStart(15, "0")}-${String(this.seq++).padStart(6, "0")}-${this.runId}.jsonl`;
      const p = path.join(this.opts.dir, name);
      const fd = openSync(p, "a+");
      const seg: Segment = { path: p, fd, size: fstatSync(fd).size, pending: 0 };
      this.segments.push(seg);
      this.current = seg;
      // Results that never reached the disk (an earlier error) go into the new segment first.
      const unwritten = this.records.values().filter((r) => !r.durable && r.entry && !this.buffer.some((b) => b.rec === r));
      if (unwritten.length) this.buffer.unshift(...unwritten.map((r) => ({ line: lineOf(r), rec: r })));
      return seg;
    });
  }

  private diskTry<T>(fn: () => T): T | undefined {
    try {
      const v = fn();
      return v;
    } catch (err) {
      this.diskFailed(err);
      return undefined;
    }
  }

  private diskFailed(err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    const msg = `${e.code ?? ""} ${e.message}`.trim();
    if (!this.degradedUntil || msg !== this.lastError) {
      this.opts.logger.error(
        { err: e.message, code: e.code, dir: this.opts.dir },
        `cannot write the result spool in ${this.opts.dir} (${e.code ?? e.message}): results are kept in memory and written once the disk works again; they are lost only if this process dies meanwhile`,
      );
    }
    this.lastError = msg;
    this.degradedUntil = Date.now() + this.retryMs;
    this.current = undefined;
  }

  private diskOk(): void {
    if (!this.degradedUntil) return;
    this.degradedUntil = 0;
    this.lastError = undefined;
    this.opts.logger.info({ dir: this.opts.dir }, "the result spool is writable again");
  }

  /** Remove segments that hold nothing pending (never the current one). */
  private collect(): void {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i];
      if (s === this.current || s.pending > 0) continue;
      if (this.buffer.length && this.current === undefined) continue;
      try {
        closeSync(s.fd);
      } catch {
        // already closed
      }
      safeUnlink(s.path);
      this.segments.splice(i, 1);
    }
  }

  private writeLease(): void {
    const info: LeaseInfo = { runId: this.runId, host: os.hostname(), pid: process.pid, processStart };
    writeFileSync(this.leasePath, `${JSON.stringify(info)}\n`);
  }

  private tick(): void {
    if (this.closed) return;
    if (this.degradedUntil && this.degradedUntil <= Date.now() && this.records.size) this.schedule();
    // Done marks that waited DONE_WRITE_AFTER_MS with no put or later mark to take them: nothing flows.
    else if (this.marksSince !== undefined && performance.now() - this.marksSince >= DONE_WRITE_AFTER_MS) this.schedule();
    try {
      if (!existsSync(this.leasePath)) {
        // Declared dead while we were stopped: another run took our segments (it delivers what
        // they hold). Take a new lease and write what we still hold in memory again.
        this.opts.logger.warn({ dir: this.opts.dir }, "this run's spool lease was taken over while the process was stopped: re-writing its results");
        this.writeLease();
        this.segments.length = 0;
        this.current = undefined;
        for (const r of this.records.values()) {
          if (r.entry) {
            r.durable = false;
            r.loc = undefined;
            this.unmarkUnsynced(r);
            this.buffer.push({ line: lineOf(r), rec: r });
          } else this.release(r); // on disk only, in the segments the other run took
        }
        this.schedule();
      } else {
        const now = new Date();
        utimesSync(this.leasePath, now, now);
      }
    } catch (err) {
      this.diskFailed(err);
    }
    const late = this.claimDead();
    if (late.length) this.opts.onRecovered?.(late);
  }

  private isDead(runId: string, names: Set<string>): boolean {
    const lease = `lease-${runId}`;
    if (!names.has(lease)) return true;
    const p = path.join(this.opts.dir, lease);
    try {
      const st = statSync(p);
      if (Date.now() - st.mtimeMs > this.staleMs) return true;
      const info = JSON.parse(readFileSync(p, "utf8")) as LeaseInfo;
      if (info.host === os.hostname()) {
        if (info.pid === process.pid) return info.processStart !== processStart && runId !== this.runId;
        if (!pidAlive(info.pid)) return true;
      }
      return false;
    } catch {
      return false; // being written: not dead yet
    }
  }

  /** Claim every segment of a dead run; returns their pending records, oldest first. */
  private claimDead(): JournalRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.opts.dir);
    } catch {
      return [];
    }
    const set = new Set(names);
    const deadRuns = new Map<string, boolean>();
    const claimed: Segment[] = [];
    for (const name of names.sort()) {
      const m = SEGMENT_RE.exec(name);
      if (!m || m[3] === this.runId) continue;
      let dead = deadRuns.get(m[3]);
      if (dead === undefined) deadRuns.set(m[3], (dead = this.isDead(m[3], set)));
      if (!dead) continue;
      const target = path.join(this.opts.dir, `wal-${m[1]}-${String(this.seq++).padStart(6, "0")}-${this.runId}.jsonl`);
      try {
        renameSync(path.join(this.opts.dir, name), target);
      } catch {
        continue; // another run claimed it first
      }
      try {
        const fd = openSync(target, "r+");
        claimed.push({ path: target, fd, size: fstatSync(fd).size, pending: 0 });
      } catch (err) {
        this.opts.logger.error({ err: (err as Error).message, file: target }, "cannot open a spool file left by an earlier run");
      }
    }
    for (const [runId, dead] of deadRuns) if (dead) safeUnlink(path.join(this.opts.dir, `lease-${runId}`));
    // Stale leases with no segments left.
    for (const name of names) {
      const m = LEASE_RE.exec(name);
      if (m && m[1] !== this.runId && !deadRuns.has(m[1]) && this.isDead(m[1], set)) safeUnlink(path.join(this.opts.dir, name));
    }
    if (!claimed.length) return [];
    const puts = new Map<string, JournalRecord>();
    for (const seg of claimed) {
      const text = readFileSync(seg.path);
      let offset = 0;
      while (offset < text.length) {
        let nl = text.indexOf(10, offset);
        if (nl === -1) nl = text.length;
        const line = text.toString("utf8", offset, nl).trim();
        if (line) {
          try {
            const o = JSON.parse(line) as { p?: string; e?: SpoolEntry; d?: string };
            if (o.p && o.e?.result?.taskId)
              puts.set(o.p, { id: o.p, entry: o.e, loc: { segment: seg, offset, length: nl - offset }, durable: true, recovered: true });
            else if (o.d) puts.delete(o.d);
            else this.corrupt++;
          } catch {
            this.corrupt++; // a torn last write
          }
        }
        offset = nl + 1;
      }
      this.segments.unshift(seg);
    }
    const out = [...puts.values()];
    for (const r of out) {
      r.loc!.segment.pending++;
      r.held ??= this.records.add(r);
    }
    if (this.corrupt) this.opts.logger.warn({ lines: this.corrupt }, `skipped ${this.corrupt} torn line(s) in spool files left by an earlier run`);
    this.collect();
    return out;
  }
}

function safeUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

/** The put line of a record whose entry is in memory. */
function lineOf(r: JournalRecord): string {
  return r.json !== undefined ? putLine(r.id, r.entry!, r.json) : JSON.stringify({ p: r.id, e: r.entry });
}

/**
 * A put's line, `{"p":id,"e":entry}`, with the result's JSON spliced in as it is instead of
 * serialising the result again. Every SpoolEntry field is written here (the spool tests read
 * lines back and compare them with the entry).
 */
export function putLine(id: string, entry: SpoolEntry, resultJson: string): string {
  let e = `{"result":${resultJson}`;
  if (entry.worker !== undefined) e += `,"worker":${JSON.stringify(entry.worker)}`;
  if (entry.downgraded !== undefined) e += `,"downgraded":${entry.downgraded}`;
  return `{"p":${JSON.stringify(id)},"e":${e}}}`;
}
