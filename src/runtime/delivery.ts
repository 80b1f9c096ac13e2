/**
 * Result delivery: durable before sent, never silently dropped.
 *
 * Each result is first appended to the spool (spool.ts, a write-ahead log with group commit),
 * then sent (update-v2, which also hands back the next task for the same worker; POST /tasks on
 * servers without it), and marked done after the server's answer. A process that dies leaves its
 * undelivered results in the spool and the next start delivers them before anything new.
 *
 * When the server cannot be reached, results join an ordered backlog that one drain loop
 * delivers with exponential backoff and jitter, for as long as it takes. Past `maxInMemory`
 * results only their place in the spool stays in memory; past `pauseAbove` the pollers stop
 * taking new work until the backlog shrinks.
 *
 * What the server says:
 *  - 2xx: delivered.
 *  - 404: the task is gone (deleted, or its workflow was removed): dropped, with a log line.
 *  - another 4xx (not 401/403/408/429): refused. The result and the server's answer go to the
 *    dead-letter file (dead-letter.ts) and a minimal FAILED saying why is sent instead, so the
 *    task is retried; if even that is refused it goes to the dead letters too. Nothing waits
 *    behind a refused result.
 *  - a 5xx with `retryable: false`: tried `refusalsBeforeDeadLetter` times (moved behind the
 *    others each time), then handled like a 4xx refusal.
 *  - no answer, 5xx, 429, 401/403: retried with backoff (Conductor is away or busy).
 * Before anything is sent, an output over the server's hard limit (10 MiB by default) is
 * replaced by FAILED_WITH_TERMINAL_ERROR naming the task and the size.
 */
import path from "node:path";
import type { Logger } from "pino";
import { UpdateV2Unsupported, type ConductorClient } from "../conductor/client.ts";
import { ConductorError } from "../conductor/errors.ts";
import type { Task, TaskResult } from "../conductor/types.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import { writeDeadLetter } from "./dead-letter.ts";
import type { RuntimeEvents } from "./events.ts";
import type { OutageTracker } from "./outage.ts";
import { ResultJournal, type JournalRecord, type SpoolEntry, type SpoolSync } from "./spool.ts";
import { AbortGroup } from "./abort-group.ts";
import { outputJsonOf, resultJson, settledResult } from "./result-json.ts";
import { stallAwareTimeout } from "./stall.ts";

/** How long an update-v2 may take before it is abandoned and retried (ms of running time). */
const UPDATE_TIMEOUT_MS = 30_000;

/** Conductor's default `conductor.app.maxTaskOutputPayloadSizeThreshold` (10240 KB): a larger output fails the task. */
export const DEFAULT_MAX_OUTPUT_BYTES = 10240 * 1024;

export interface DeliveryOptions {
  client: ConductorClient;
  logger: Logger;
  outage: OutageTracker;
  /** `<stateDir>/spool`. */
  spoolDir: string;
  /** Where refused results go (default `<spoolDir>/../dead-letter.jsonl`). */
  deadLetterFile?: string;
  /** Results whose body stays in memory while they wait; the rest are read back from the spool (default 1000). */
  maxInMemory?: number;
  /** Backlog size past which the pollers stop taking new work (default = maxInMemory). */
  pauseAbove?: number;
  backoff?: BackoffOptions;
  /** Use /tasks/update-v2 when the caller wants the next task (default true). */
  updateV2?: boolean;
  /** How often the backlog size is logged while it is not empty, in ms (default 30000). */
  backlogLogEveryMs?: number;
  /** Where delivery attempts, drops and the backlog size are reported. */
  events?: RuntimeEvents;
  /** When spool appends are synced to the device (default "background": see SpoolSync in spool.ts). */
  spoolSync?: SpoolSync;
  /** Largest output sent, in bytes of JSON (default 10 MiB, Conductor's default hard limit). */
  maxOutputBytes?: number;
  /** A 5xx with `retryable: false` is tried this many times before it goes to the dead letters (default 3). */
  refusalsBeforeDeadLetter?: number;
  /** No spool at all: the benchmark's baseline only (results are then lost when the process dies). */
  spoolOff?: boolean;
  /** Spool lease timings (tests). */
  leaseRefreshMs?: number;
  leaseStaleMs?: number;
}

export interface DeliveryStats {
  delivered: number;
  /** Set aside for good: 404 (task gone) or dead-lettered. */
  dropped: number;
  /** Written to the dead-letter file (refused by the server). */
  deadLettered: number;
  /** Replaced by a minimal FAILED because the server refused the result. */
  downgraded: number;
  /** Replaced by FAILED_WITH_TERMINAL_ERROR before sending: output over the size limit. */
  oversized: number;
  /** Results that went through the backlog (the server was unreachable). */
  retried: number;
  /** Left in the spool at exit for the next start. */
  spooled: number;
  /** Waiting now. */
  backlog: number;
  /** Results taken over from an earlier run's spool. */
  recovered: number;
}

type Outcome = { kind: "ok"; next?: Task } | { kind: "drop" } | { kind: "retry"; err: unknown; refused?: boolean } | { kind: "again" };

export class ResultDelivery {
  readonly stats: DeliveryStats = { delivered: 0, dropped: 0, deadLettered: 0, downgraded: 0, oversized: 0, retried: 0, spooled: 0, backlog: 0, recovered: 0 };
  private readonly journal: ResultJournal;
  private readonly queue: JournalRecord[] = [];
  private readonly refusals = new Map<string, number>();
  private inMemory = 0;
  private readonly maxInMemory: number;
  private readonly pauseAbove: number;
  private readonly backoff: Backoff;
  private readonly deadLetters: string;
  private v2: boolean;
  private draining?: Promise<void>;
  /** Results being sent outside the backlog now (a count, not a list of their promises: no promise more per result). */
  private sending = 0;
  private sendWaiters: Array<() => void> = [];
  /**
   * Every update under way (a POST's request, an update-v2's timer) listens here, one array entry
   * per request: closing ends them all. Not the closing AbortSignal itself: a listener per task on
   * a long-lived EventTarget kept each task's objects alive through young-generation GCs (abort-group.ts).
   */
  private readonly updates = new AbortGroup();
  /** Aborts on close: ends the updates under way, the backlog's backoff sleep and close()'s wait. */
  private readonly closing = (() => {
    const c = new AbortController();
    c.signal.addEventListener("abort", () => this.updates.abort(c.signal.reason));
    return c;
  })();
  private lastBacklogLog = 0;
  private paused = false;
  private resumeWaiters: Array<() => void> = [];
  private closed = false;
  private recoveredAtStart = 0;

  constructor(private readonly opts: DeliveryOptions) {
    this.maxInMemory = Math.max(1, opts.maxInMemory ?? 1000);
    this.pauseAbove = Math.max(1, opts.pauseAbove ?? this.maxInMemory);
    this.backoff = new Backoff(opts.backoff);
    this.v2 = opts.updateV2 ?? true;
    this.deadLetters = opts.deadLetterFile ?? path.join(path.dirname(opts.spoolDir), "dead-letter.jsonl");
    this.journal = new ResultJournal({
      dir: opts.spoolDir,
      logger: opts.logger,
      sync: opts.spoolSync,
      off: opts.spoolOff,
      refreshMs: opts.leaseRefreshMs,
      staleMs: opts.leaseStaleMs,
      onRecovered: (recs) => this.takeOver(recs, "a run that died while this one was running"),
    });
    const recs = this.journal.open();
    this.recoveredAtStart = recs.length;
    this.takeOver(recs, "an earlier run");
  }

  /** How many results an earlier run left in the spool (they are delivered before any new result). */
  recoverSpool(): number {
    return this.recoveredAtStart;
  }

  /** Results waiting for delivery. */
  get backlog(): number {
    return this.queue.length;
  }

  /** True when nothing waits for delivery. */
  get idle(): boolean {
    return this.queue.length === 0 && this.sending === 0 && !this.draining;
  }

  /** False while the backlog is over its bound (the pollers take no new work). */
  get accepting(): boolean {
    return !this.paused || this.closed;
  }

  /** Resolves when the backlog is under its bound (at once when it is): the pollers wait here before taking new work. */
  whenAccepting(): Promise<void> {
    if (!this.paused || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.resumeWaiters.push(resolve));
  }

  /**
   * Deliver a result. Resolves once it is delivered or queued (never throws). With `wantNext`
   * and an empty backlog, uses update-v2 and resolves with the next task for this worker.
   * (A chain of `then`s, not an async function: every task passes here, and each async layer is
   * promises more on its path; docs/performance.md, "The runtime's own JavaScript, measured to 2%".)
   */
  deliver(result: TaskResult, wantNext = false, taskName?: string): Promise<Task | undefined> {
    // Serialised once (the output's part by the executor: result-json.ts): the spool line and the
    // request body are made from this text.
    let json = resultJson(result);
    const checked = this.checkSize(result, json, taskName);
    if (checked !== result) json = JSON.stringify(checked);
    const entry: SpoolEntry = { result: checked, worker: taskName };
    const { rec, durable } = this.journal.put(entry, json);
    return durable.then(() => this.afterDurable(rec, wantNext));
  }

  /** The result is in the spool: send it now, or behind the backlog. */
  private afterDurable(rec: JournalRecord, wantNext: boolean): Promise<Task | undefined> | undefined {
    if (this.closed) {
      this.opts.logger.warn({ taskId: rec.entry?.result.taskId }, "result arrived after delivery closed: kept in the spool for the next start");
      this.journal.close();
      return undefined;
    }
    if (this.queue.length > 0 || this.draining) {
      this.enqueue(rec);
      return undefined;
    }
    return this.sendDirect(rec, wantNext && this.v2);
  }

  /**
   * Deliver what is left within `windowMs`; what is still undelivered stays in the spool for the
   * next start. Returns how many results stay spooled.
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
        await this.sent();
        if (this.queue.length === 0) {
          if (!this.draining) break;
        } else this.kick();
        if (this.draining) await this.draining;
        if (this.closing.signal.aborted) break;
      }
      await this.sent();
      if (this.draining) await this.draining;
    } finally {
      clearTimeout(timer);
    }
    await this.journal.flush();
    return this.spoolNow();
  }

  /** Stop now: whatever is undelivered stays in the spool (synchronous; also used on a second signal). */
  spoolNow(): number {
    this.closed = true;
    this.closing.abort();
    this.releaseWaiters();
    const left = this.journal.close();
    if (left > 0 && this.stats.spooled === 0) {
      this.stats.spooled = left;
      this.opts.logger.warn(
        { results: left, dir: this.opts.spoolDir },
        `Conductor could not take ${left} result(s) before exit: they stay in ${this.opts.spoolDir}; the next \`idflow worker start\` delivers them first`,
      );
    }
    this.stats.backlog = this.queue.length;
    this.emitBacklog();
    return left;
  }

  // ------------------------------------------------------------------ internals

  private takeOver(recs: JournalRecord[], from: string): void {
    if (!recs.length) return;
    this.opts.logger.info({ results: recs.length, dir: this.opts.spoolDir }, `delivering ${recs.length} result(s) left in the spool by ${from}`);
    this.stats.recovered += recs.length;
    // Recovered results go before anything new.
    this.queue.unshift(...recs);
    for (const r of recs) {
      if (this.inMemory < this.maxInMemory) this.inMemory++;
      else this.journal.evict(r);
    }
    this.afterQueueChange();
    this.kick();
  }

  /** An output over the server's hard limit would fail there without a useful word: fail it here, naming the task and the size. */
  private checkSize(r: TaskResult, json: string, taskName?: string): TaskResult {
    const limit = this.opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    if (!r.outputData || limit <= 0) return r;
    // The output's JSON is part of the result's: a result within the limit needs no second look.
    // (A UTF-16 unit is at most 3 bytes of UTF-8: most results pass without counting bytes.)
    if (json.length * 3 <= limit || Buffer.byteLength(json) <= limit) return r;
    const bytes = Buffer.byteLength(outputJsonOf(r) ?? JSON.stringify(r.outputData));
    if (bytes <= limit) return r;
    this.stats.oversized++;
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    const reason = `${taskName ? `${taskName}: ` : ""}task output is ${mb(bytes)} (${bytes} bytes of JSON), over Conductor's limit of ${mb(limit)} (conductor.app.maxTaskOutputPayloadSizeThreshold): not sent. Return less, or store the data elsewhere and return a reference.`;
    const who = taskName ? `task ${taskName} (${r.taskId})` : `task ${r.taskId}`;
    this.opts.logger.error({ worker: taskName, taskId: r.taskId, workflowId: r.workflowInstanceId, bytes, limit }, `${who}: ${reason}`);
    return {
      taskId: r.taskId,
      workflowInstanceId: r.workflowInstanceId,
      workerId: r.workerId,
      status: "FAILED_WITH_TERMINAL_ERROR",
      reasonForIncompletion: reason,
      logs: r.logs,
    };
  }

  private emitBacklog(): void {
    this.opts.events?.emit("delivery:backlog", { backlog: this.stats.backlog, spooled: this.stats.spooled });
  }

  /** Send a result outside the backlog (nothing waits): counted in `sending` until it is answered or queued. */
  private async sendDirect(rec: JournalRecord, wantNext: boolean): Promise<Task | undefined> {
    this.sending++;
    try {
      for (;;) {
        const outcome = await this.send(rec, wantNext);
        if (outcome.kind === "ok") return outcome.next;
        if (outcome.kind === "drop") return undefined;
        if (outcome.kind === "again") {
          wantNext = wantNext && this.v2;
          continue;
        }
        this.stats.retried++;
        this.enqueue(rec);
        return undefined;
      }
    } finally {
      if (--this.sending === 0) for (const w of this.sendWaiters.splice(0)) w();
    }
  }

  /** Resolves when no result is being sent outside the backlog. */
  private sent(): Promise<void> {
    return this.sending === 0 ? Promise.resolve() : new Promise((resolve) => this.sendWaiters.push(resolve));
  }

  /** One attempt. */
  private async send(rec: JournalRecord, wantNext: boolean): Promise<Outcome> {
    const log = this.opts.logger;
    const entry = this.journal.load(rec);
    if (!entry) {
      // The spool lost it (a file removed by hand): nothing to send.
      this.finish(rec);
      return { kind: "drop" };
    }
    const r = entry.result;
    // update-v2's answer may hold the next task: its timeout must not fire just because the process was stopped (stall.ts).
    const timeout = wantNext && this.v2 ? stallAwareTimeout(UPDATE_TIMEOUT_MS, undefined, this.updates) : undefined;
    const started = performance.now();
    try {
      let next: Task | undefined;
      // rec.json: the result as put() serialised it (gone once evicted, queued or replaced).
      if (timeout) next = await this.opts.client.updateTaskV2(r, timeout, 0, rec.json);
      else await this.opts.client.updateTask(r, this.updates, rec.json);
      this.opts.outage.ok();
      this.stats.delivered++;
      if (this.opts.events?.wants("delivery:attempt"))
        this.opts.events.emit("delivery:attempt", { taskId: r.taskId, worker: entry.worker, ok: true, durationMs: performance.now() - started });
      this.finish(rec);
      return { kind: "ok", next };
    } catch (err) {
      const e = err as ConductorError;
      this.opts.events?.emit("delivery:attempt", {
        taskId: r.taskId,
        worker: entry.worker,
        ok: false,
        httpStatus: e?.status,
        error: e?.message,
        durationMs: performance.now() - started,
      });
      if (err instanceof UpdateV2Unsupported) {
        this.v2 = false;
        log.info("this Conductor has no /tasks/update-v2: using POST /tasks");
        return { kind: "again" };
      }
      if (!(err instanceof ConductorError) || err.status === undefined) {
        if (timeout?.timedOut) this.opts.outage.failed(new Error(`POST /api/tasks/update-v2 got no answer in ${UPDATE_TIMEOUT_MS / 1000} s`));
        else if (!(err instanceof ConductorError && err.code === "ABORTED")) this.opts.outage.failed(err);
        return { kind: "retry", err };
      }
      this.opts.outage.ok();
      const status = err.status;
      if (status === 404) {
        this.stats.dropped++;
        this.opts.events?.emit("delivery:dropped", { taskId: r.taskId, worker: entry.worker, reason: "404: task unknown to Conductor" });
        log.warn({ taskId: r.taskId, workflowId: r.workflowInstanceId, status: r.status }, `Conductor no longer knows task ${r.taskId} (404): result dropped`);
        this.finish(rec);
        return { kind: "drop" };
      }
      const notRetryable = status >= 500 && (err.body as { retryable?: unknown })?.retryable === false;
      const refused = (status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status)) || notRetryable;
      if (!refused) {
        if (status >= 500 || status === 429) this.opts.outage.failed(err);
        return { kind: "retry", err };
      }
      if (notRetryable) {
        const n = (this.refusals.get(rec.id) ?? 0) + 1;
        this.refusals.set(rec.id, n);
        if (n < (this.opts.refusalsBeforeDeadLetter ?? 3)) return { kind: "retry", err, refused: true };
      }
      // Refused for good: set it aside with the server's answer, then send a minimal FAILED once.
      this.deadLetter(r, err, entry.worker);
      if (!entry.downgraded) {
        this.stats.downgraded++;
        entry.downgraded = true;
        entry.result = {
          taskId: r.taskId,
          workflowInstanceId: r.workflowInstanceId,
          workerId: r.workerId,
          status: "FAILED",
          reasonForIncompletion: `Conductor refused the worker's result (${status}): ${(err.serverMessage ?? err.message).slice(0, 500)}`,
        };
        rec.entry = entry;
        rec.json = undefined; // the JSON of the result it replaced
        this.refusals.delete(rec.id);
        return { kind: "again" };
      }
      this.finish(rec);
      return { kind: "drop" };
    } finally {
      timeout?.clear();
    }
  }

  private deadLetter(r: TaskResult, err: ConductorError, worker?: string): void {
    const ok = writeDeadLetter(this.deadLetters, {
      time: new Date().toISOString(),
      taskId: r.taskId,
      workflowInstanceId: r.workflowInstanceId,
      server: { status: err.status, body: err.body, message: err.serverMessage ?? err.message },
      result: r,
    });
    this.stats.deadLettered++;
    this.stats.dropped++;
    this.opts.events?.emit("delivery:dropped", {
      taskId: r.taskId,
      worker,
      reason: `refused (${err.status}): ${(err.serverMessage ?? err.message).slice(0, 200)}`,
    });
    this.opts.logger.error(
      { taskId: r.taskId, workflowId: r.workflowInstanceId, status: err.status, err: err.serverMessage ?? err.message, file: this.deadLetters },
      ok
        ? `Conductor refused the result of task ${r.taskId} (${err.status}): set aside in ${this.deadLetters} with the server's answer`
        : `Conductor refused the result of task ${r.taskId} (${err.status}) and ${this.deadLetters} cannot be written: the result is in this log line only: ${JSON.stringify(r).slice(0, 4000)}`,
    );
  }

  /** The server answered for this record: forget it. */
  private finish(rec: JournalRecord): void {
    this.refusals.delete(rec.id);
    this.journal.done(rec);
  }

  private enqueue(rec: JournalRecord): void {
    this.queue.push(rec);
    // The backlog keeps results as objects only (its memory bound counts entries), JSON
    // round-tripped from the snapshot so that they no longer refer to the task's own objects. A
    // send from it serialises again.
    if (rec.entry && rec.json !== undefined) rec.entry.result = settledResult(rec.entry.result);
    rec.json = undefined;
    if (this.inMemory < this.maxInMemory || !this.journal.evict(rec)) this.inMemory++;
    else if (this.inMemory === this.maxInMemory && this.queue.length === this.maxInMemory + 1) {
      this.opts.logger.warn(
        { maxInMemory: this.maxInMemory, dir: this.opts.spoolDir },
        `result backlog over ${this.maxInMemory}: the rest wait in the spool only`,
      );
    }
    this.afterQueueChange();
    if (!this.closed) this.kick();
  }

  private dequeue(): void {
    const rec = this.queue.shift();
    if (rec?.entry && this.inMemory > 0) this.inMemory--;
    // Bring the next evicted one back into memory's budget (it is read from disk when sent).
    this.afterQueueChange();
  }

  private afterQueueChange(): void {
    this.stats.backlog = this.queue.length;
    this.emitBacklog();
    const over = this.queue.length >= this.pauseAbove;
    if (over && !this.paused) {
      this.paused = true;
      this.opts.logger.warn(
        { backlog: this.queue.length, bound: this.pauseAbove },
        `${this.queue.length} results wait for Conductor: no new work is taken until the backlog shrinks`,
      );
    } else if (!over && this.paused && this.queue.length < Math.max(1, Math.floor(this.pauseAbove / 2))) {
      this.paused = false;
      this.opts.logger.info({ backlog: this.queue.length }, "result backlog shrank: taking new work again");
      this.releaseWaiters();
    }
  }

  private releaseWaiters(): void {
    for (const w of this.resumeWaiters.splice(0)) w();
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
    let refusedInARow = 0;
    while (!this.closing.signal.aborted && this.queue.length > 0) {
      const rec = this.queue[0];
      const outcome = await this.send(rec, false);
      if (outcome.kind === "again") continue;
      if (outcome.kind === "retry") {
        if (outcome.refused && this.queue.length > 1 && refusedInARow < this.queue.length) {
          // Refused but maybe not for good: let the others pass first.
          refusedInARow++;
          this.queue.push(this.queue.shift()!);
          continue;
        }
        if (Date.now() - this.lastBacklogLog >= every) {
          this.lastBacklogLog = Date.now();
          log.warn({ backlog: this.queue.length }, `${this.queue.length} result(s) waiting for Conductor`);
        }
        await sleep(this.backoff.next(), this.closing.signal);
        refusedInARow = 0;
        continue;
      }
      refusedInARow = 0;
      this.backoff.reset();
      this.dequeue();
    }
    if (this.queue.length === 0 && (this.stats.retried > 0 || this.stats.recovered > 0)) log.debug("result backlog delivered");
  }
}
