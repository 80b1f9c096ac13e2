/**
 * Result delivery: never drops a result. A result is sent at once when nothing waits before
 * it (with update-v2, which also hands back the next task for the same worker; falling back to
 * POST /tasks on servers without it). When the server cannot be reached the result joins an
 * ordered backlog that one drain loop delivers with exponential backoff and jitter, for as long
 * as it takes; beyond `maxInMemory` results the backlog continues on disk (spool.ts), and on
 * shutdown whatever is left goes to a spool file that the next start delivers first.
 * The only drop: Conductor answers 404 (the task is gone). A result the server refuses as
 * invalid (400/413/422) is replaced once by a minimal FAILED saying why, so the task is retried.
 */
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import { UpdateV2Unsupported, type ConductorClient } from "../conductor/client.ts";
import { ConductorError } from "../conductor/errors.ts";
import type { Task, TaskResult } from "../conductor/types.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import type { RuntimeEvents } from "./events.ts";
import type { OutageTracker } from "./outage.ts";
import { DiskQueue, writeSpoolFile, type SpoolEntry } from "./spool.ts";

export interface DeliveryOptions {
  client: ConductorClient;
  logger: Logger;
  outage: OutageTracker;
  /** `<stateDir>/spool`. */
  spoolDir: string;
  /** Results held in memory while undeliverable; more go to disk (default 1000). */
  maxInMemory?: number;
  backoff?: BackoffOptions;
  /** Use /tasks/update-v2 when the caller wants the next task (default true). */
  updateV2?: boolean;
  /** How often the backlog size is logged while it is not empty, in ms (default 30000). */
  backlogLogEveryMs?: number;
  /** Where delivery attempts, drops and the backlog size are reported. */
  events?: RuntimeEvents;
}

export interface DeliveryStats {
  delivered: number;
  /** Dropped because Conductor answered 404 (task gone). */
  dropped: number;
  /** Replaced by a minimal FAILED because the server refused the result. */
  downgraded: number;
  /** Results that went through the backlog (the server was unreachable). */
  retried: number;
  /** Written to a spool file at shutdown. */
  spooled: number;
  /** Waiting now (memory + disk). */
  backlog: number;
  /** Results recovered from a previous run's spool. */
  recovered: number;
}

interface Queued {
  entry: SpoolEntry;
  token?: object;
}

type Outcome = { kind: "ok"; next?: Task } | { kind: "drop" } | { kind: "retry"; err: unknown } | { kind: "again" };

export class ResultDelivery {
  readonly stats: DeliveryStats = { delivered: 0, dropped: 0, downgraded: 0, retried: 0, spooled: 0, backlog: 0, recovered: 0 };
  private readonly memory: Queued[] = [];
  private readonly disk: DiskQueue;
  private readonly maxInMemory: number;
  private readonly backoff: Backoff;
  private v2: boolean;
  private draining?: Promise<void>;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Aborts every update under way on close. Each concurrent update listens on it (as many as there are slots, each removed when its call ends), so no listener limit. */
  private closing = (() => {
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    return c;
  })();
  /** Entries appended to the live overflow file and not read back yet. */
  private liveUnread = 0;
  private lastBacklogLog = 0;
  private closed = false;

  constructor(private readonly opts: DeliveryOptions) {
    this.disk = new DiskQueue(opts.spoolDir);
    this.maxInMemory = Math.max(1, opts.maxInMemory ?? 1000);
    this.backoff = new Backoff(opts.backoff);
    this.v2 = opts.updateV2 ?? true;
  }

  /** Take over spool files left by earlier runs; they are delivered before any new result. */
  recoverSpool(): number {
    const files = this.disk.claim();
    if (files > 0) {
      this.opts.logger.info({ files, dir: this.opts.spoolDir }, `delivering results spooled by an earlier run (${files} file${files > 1 ? "s" : ""})`);
      this.kick();
    }
    return files;
  }

  /** Results waiting (memory + disk; disk count is approximate for recovered files). */
  get backlog(): number {
    return this.memory.length + this.liveUnread;
  }

  /** True when nothing waits for delivery. */
  get idle(): boolean {
    return this.memory.length === 0 && !this.disk.hasUnread && this.inflight.size === 0 && !this.draining;
  }

  /**
   * Deliver a result. Resolves once it is delivered or queued (never throws). With `wantNext`
   * and an empty backlog, uses update-v2 and resolves with the next task for this worker.
   */
  deliver(result: TaskResult, wantNext = false): Promise<Task | undefined> {
    if (this.closed) {
      // A straggler after close(): straight to a spool file, never lost.
      const file = writeSpoolFile(this.opts.spoolDir, [JSON.stringify({ result })]);
      this.stats.spooled++;
      this.opts.logger.warn({ taskId: result.taskId, file }, "result arrived after delivery closed: spooled");
      return Promise.resolve(undefined);
    }
    if (this.memory.length > 0 || this.disk.hasUnread || this.draining) {
      this.enqueue({ result });
      return Promise.resolve(undefined);
    }
    const p = this.sendDirect({ result }, wantNext && this.v2);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  /**
   * Deliver what is left within `windowMs`, then write anything still undelivered to a spool
   * file. Returns how many results were spooled.
   */
  async close(windowMs: number, settled?: Promise<unknown>): Promise<number> {
    const deadline = Date.now() + windowMs;
    const timer = setTimeout(() => this.closing.abort(), Math.max(0, windowMs));
    try {
      if (settled) {
        // Wait for the callers to hand over their last results (bounded by the window).
        const aborted = new Promise<void>((resolve) => this.closing.signal.addEventListener("abort", () => resolve(), { once: true }));
        await Promise.race([settled, aborted]);
      }
      while (Date.now() < deadline) {
        await Promise.allSettled([...this.inflight]);
        if (this.memory.length === 0 && !this.disk.hasUnread) {
          if (!this.draining) break;
        } else this.kick();
        if (this.draining) await this.draining;
        if (this.closing.signal.aborted) break;
      }
      await Promise.allSettled([...this.inflight]);
      if (this.draining) await this.draining;
    } finally {
      clearTimeout(timer);
      this.closed = true;
    }
    return this.spoolNow();
  }

  /** Write everything undelivered to a spool file now (synchronous; also used on a second signal). */
  spoolNow(): number {
    this.closed = true;
    this.closing.abort();
    const lines = [...this.memory.map((q) => JSON.stringify(q.entry)), ...this.disk.unreadLines()];
    if (lines.length > 0) {
      const file = writeSpoolFile(this.opts.spoolDir, lines);
      this.stats.spooled += lines.length;
      this.opts.logger.warn({ results: lines.length, file }, `Conductor could not take ${lines.length} result(s) before exit: spooled to ${file}; the next \`idflow worker start\` delivers them first`);
    }
    this.memory.length = 0;
    this.disk.removeAll();
    this.liveUnread = 0;
    this.stats.backlog = 0;
    this.emitBacklog();
    return lines.length;
  }

  private emitBacklog(): void {
    this.opts.events?.emit("delivery:backlog", { backlog: this.stats.backlog, spooled: this.stats.spooled });
  }

  // ------------------------------------------------------------------ internals

  private async sendDirect(entry: SpoolEntry, wantNext: boolean): Promise<Task | undefined> {
    for (;;) {
      const outcome = await this.send(entry, wantNext);
      if (outcome.kind === "ok") return outcome.next;
      if (outcome.kind === "drop") return undefined;
      if (outcome.kind === "again") {
        wantNext = wantNext && this.v2;
        continue;
      }
      this.stats.retried++;
      this.enqueue(entry);
      return undefined;
    }
  }

  /** One attempt. */
  private async send(entry: SpoolEntry, wantNext: boolean): Promise<Outcome> {
    const log = this.opts.logger;
    const r = entry.result;
    try {
      let next: Task | undefined;
      if (wantNext && this.v2) next = await this.opts.client.updateTaskV2(r, this.closing.signal);
      else await this.opts.client.updateTask(r, this.closing.signal);
      this.opts.outage.ok();
      this.stats.delivered++;
      this.opts.events?.emit("delivery:attempt", { taskId: r.taskId, ok: true });
      return { kind: "ok", next };
    } catch (err) {
      this.opts.events?.emit("delivery:attempt", { taskId: r.taskId, ok: false, httpStatus: (err as ConductorError)?.status, error: (err as Error)?.message });
      if (err instanceof UpdateV2Unsupported) {
        this.v2 = false;
        log.info("this Conductor has no /tasks/update-v2: using POST /tasks");
        return { kind: "again" };
      }
      if (err instanceof ConductorError && err.status !== undefined && !err.transient && err.status !== 401 && err.status !== 403) {
        this.opts.outage.ok();
        if (err.status === 404) {
          this.stats.dropped++;
          this.opts.events?.emit("delivery:dropped", { taskId: r.taskId, reason: "404: task unknown to Conductor" });
          log.warn({ taskId: r.taskId, workflowId: r.workflowInstanceId, status: r.status }, `Conductor no longer knows task ${r.taskId} (404): result dropped`);
          return { kind: "drop" };
        }
        if (!entry.downgraded) {
          this.stats.downgraded++;
          log.error({ taskId: r.taskId, workflowId: r.workflowInstanceId, err: err.message }, "Conductor refused the result; reporting FAILED instead");
          entry.result = {
            taskId: r.taskId,
            workflowInstanceId: r.workflowInstanceId,
            workerId: r.workerId,
            status: "FAILED",
            reasonForIncompletion: `Conductor refused the worker's result (${err.status}): ${(err.serverMessage ?? err.message).slice(0, 500)}`,
          };
          entry.downgraded = true;
          return { kind: "again" };
        }
        this.stats.dropped++;
        this.opts.events?.emit("delivery:dropped", { taskId: r.taskId, reason: `refused (${err.status})` });
        log.error({ taskId: r.taskId, workflowId: r.workflowInstanceId, err: err.message }, "Conductor refused even a minimal FAILED result: dropped");
        return { kind: "drop" };
      }
      if (!(err instanceof ConductorError && err.code === "ABORTED")) this.opts.outage.failed(err);
      return { kind: "retry", err };
    }
  }

  private enqueue(entry: SpoolEntry): void {
    if (this.memory.length < this.maxInMemory && !this.disk.hasUnread) this.memory.push({ entry });
    else {
      if (this.liveUnread === 0) {
        this.opts.logger.warn({ maxInMemory: this.maxInMemory, dir: this.opts.spoolDir }, `result backlog over ${this.maxInMemory}: continuing on disk`);
      }
      this.disk.append(entry);
      this.liveUnread++;
    }
    this.stats.backlog = this.backlog;
    this.emitBacklog();
    if (!this.closed) this.kick();
  }

  private kick(): void {
    if (this.draining || this.closed) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    const log = this.opts.logger;
    const every = this.opts.backlogLogEveryMs ?? 30_000;
    while (!this.closing.signal.aborted) {
      if (this.memory.length === 0) {
        const got = this.disk.read(this.maxInMemory);
        if (got.length === 0) break;
        for (const g of got) {
          if (g.recovered) this.stats.recovered++;
          else this.liveUnread = Math.max(0, this.liveUnread - 1);
          this.memory.push({ entry: g.entry, token: g.token });
        }
      }
      const q = this.memory[0];
      const outcome = await this.send(q.entry, false);
      if (outcome.kind === "again") continue;
      if (outcome.kind === "retry") {
        if (Date.now() - this.lastBacklogLog >= every) {
          this.lastBacklogLog = Date.now();
          log.warn({ backlog: this.backlog, onDisk: this.disk.appended > 0 }, `${this.backlog} result(s) waiting for Conductor`);
        }
        await sleep(this.backoff.next(), this.closing.signal);
        continue;
      }
      this.backoff.reset();
      this.memory.shift();
      if (q.token) this.disk.done(q.token);
      this.stats.backlog = this.backlog;
      this.emitBacklog();
    }
    if (this.memory.length === 0 && !this.disk.hasUnread) {
      this.stats.backlog = 0;
      this.emitBacklog();
      if (this.stats.retried > 0 || this.stats.recovered > 0) log.debug("result backlog delivered");
    }
  }
}
