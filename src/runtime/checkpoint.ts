/**
 * Checkpoints: a running task's progress, kept in the task's output on the server so that the
 * next attempt can resume (resume.ts reads it back).
 *
 * How it is stored (measured on Conductor 3.21.14; the source of 3.32 is the same):
 *   - An update with `extendLease: true` only touches the task's updateTime: its outputData is
 *     ignored. So a checkpoint cannot ride on a lease extension.
 *   - A plain IN_PROGRESS update stores outputData, moves the task to SCHEDULED and puts it back
 *     in the queue after `callbackAfterSeconds`. A checkpoint is that update, with
 *     `outputData = { checkpoint: <envelope> }` and `callbackAfterSeconds` = the lease (the task's
 *     responseTimeoutSeconds). The postponed queue entry IS the lease: while this worker lives it
 *     re-sends the latest checkpoint every half lease; when it dies Conductor hands the same task
 *     (same taskId, pollCount + 1, outputData kept) to the next worker, which resumes from it.
 *     No retry is used up.
 *   - A later COMPLETED replaces the output (the checkpoint disappears); FAILED replaces it too, so
 *     every failure this runtime reports carries the latest checkpoint (failureOutput()).
 *   - TIMED_OUT and CANCELED keep the output as it was.
 *
 * Throttling: `checkpoint(state)` snapshots the state (JSON) at once and returns; at most one
 * update goes out per `intervalMs` (never more than half a lease apart), carrying the latest
 * state (intermediate ones are dropped). `checkpoint(state, { flush: true })` sends without
 * waiting for the interval and resolves once the server has it (or rejects). Before every send
 * the task is read (cancellation.ts): a cancelled or taken-over task is stopped instead.
 * When the execution ends: a COMPLETED result replaces the checkpoint (a send still under way is
 * awaited first, so it can never land after the result); a FAILED or IN_PROGRESS result carries
 * the latest state in its output, so even a state the throttle had not sent yet survives.
 */
import type { TaskLogger } from "../log.ts";
import type { ConductorClient } from "../conductor/client.ts";
import type { Task } from "../conductor/types.ts";
import { readLiveness } from "./cancellation.ts";

/** The output key a checkpoint lives under. */
export const CHECKPOINT_KEY = "checkpoint";
/** The lease (seconds) when the task carries no responseTimeoutSeconds. */
export const DEFAULT_LEASE_SECONDS = 600;

/** What is stored under `outputData.checkpoint`. */
export interface CheckpointEnvelope {
  /** Format version. */
  v: 1;
  /** Grows with every checkpoint, across attempts. */
  seq: number;
  /** Epoch ms when the state was taken. */
  savedAt: number;
  /** The attempt (task id) that saved it. */
  taskId: string;
  /** The task's own state, as JSON. */
  state: unknown;
}

/** The checkpoint in a task output, or undefined when there is none (or it is not ours). */
export function readCheckpoint(output: Record<string, unknown> | undefined): CheckpointEnvelope | undefined {
  const c = output?.[CHECKPOINT_KEY] as Partial<CheckpointEnvelope> | undefined;
  if (!c || typeof c !== "object" || c.v !== 1 || typeof c.seq !== "number" || !("state" in c)) return undefined;
  return c as CheckpointEnvelope;
}

export interface CheckpointOptions {
  /** Send now, not after the interval, and resolve once the server has it. */
  flush?: boolean;
}

export interface CheckpointerOptions {
  client: ConductorClient;
  task: Task;
  workerId: string;
  /** Least time between two checkpoint updates, in ms. */
  intervalMs: number;
  logger: TaskLogger;
  /** The checkpoint an earlier attempt left (carried into failure outputs until a new one exists). */
  inherited?: CheckpointEnvelope;
  /** The server says the task is no longer ours (cancelled, finished, taken over): stop it. */
  onLost(reason: string): void;
}

interface Waiter {
  seq: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class Checkpointer {
  /** Seconds the task stays ours after an update (its responseTimeoutSeconds). */
  readonly leaseSeconds: number;
  /** How often the latest checkpoint is re-sent to keep the lease, in ms. */
  readonly renewMs: number;
  /** Least time between two updates, in ms (never above renewMs). */
  readonly intervalMs: number;
  /** Updates sent (checkpoints and renewals). */
  sends = 0;
  private latest?: CheckpointEnvelope;
  private sentSeq = 0;
  private lastSendAt = Number.NEGATIVE_INFINITY;
  private inflight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** When the pending timer fires (performance.now() ms). */
  private timerDue = Number.POSITIVE_INFINITY;
  private closed = false;
  private lost = false;
  private waiters: Waiter[] = [];
  private seq: number;
  private failing = false;

  constructor(private readonly opts: CheckpointerOptions) {
    this.opts = { ...opts };
    const rts = Number(opts.task.responseTimeoutSeconds ?? 0);
    this.leaseSeconds = rts > 0 ? rts : DEFAULT_LEASE_SECONDS;
    this.renewMs = Math.max(250, Math.floor((this.leaseSeconds * 1000) / 2));
    this.intervalMs = Math.min(Math.max(0, opts.intervalMs), this.renewMs);
    this.seq = opts.inherited?.seq ?? 0;
  }

  /** The checkpoint an earlier attempt left (found after construction, see resume.ts). */
  inherit(env: CheckpointEnvelope | undefined): void {
    if (!env) return;
    this.opts.inherited = env;
    this.seq = Math.max(this.seq, env.seq);
  }

  /** True once this attempt has saved a state (the task is then SCHEDULED on the server, leased by our updates). */
  get active(): boolean {
    return this.latest !== undefined;
  }

  /** Record a state; sends it now or within the interval (the latest state wins). */
  checkpoint(state: unknown, options: CheckpointOptions = {}): Promise<void> {
    if (this.closed || this.lost) return Promise.resolve();
    let json: string | undefined;
    try {
      json = JSON.stringify(state);
    } catch (err) {
      throw new TypeError(`checkpoint: the state cannot be serialised to JSON: ${(err as Error).message}`);
    }
    if (json === undefined) throw new TypeError(`checkpoint: the state must be JSON (got ${typeof state})`);
    this.latest = { v: 1, seq: ++this.seq, savedAt: Date.now(), taskId: this.opts.task.taskId, state: JSON.parse(json) };
    if (options.flush) {
      const p = new Promise<void>((resolve, reject) => this.waiters.push({ seq: this.latest!.seq, resolve, reject }));
      this.schedule(0);
      return p;
    }
    this.schedule(this.intervalMs);
    return Promise.resolve();
  }

  /**
   * A heartbeat: once a checkpoint exists, re-send it (renews the lease); before that, an
   * extendLease update. Either way the task is read first and stopped if it is no longer ours.
   */
  async heartbeat(): Promise<void> {
    if (this.closed || this.lost) return;
    if (this.latest) {
      const seq = this.latest.seq;
      const p = new Promise<void>((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
      this.schedule(0);
      return p;
    }
    if (!(await this.stillOurs())) return;
    const { task, workerId, client } = this.opts;
    await client.updateTask({ taskId: task.taskId, workflowInstanceId: task.workflowInstanceId, workerId, status: "IN_PROGRESS", extendLease: true });
  }

  /** The output a FAILED or IN_PROGRESS result carries so the next attempt can resume. */
  carryOver(): Record<string, unknown> | undefined {
    const c = this.latest ?? this.opts.inherited;
    return c ? { [CHECKPOINT_KEY]: c } : undefined;
  }

  /** The state this attempt saved last (or the one it inherited). */
  lastState(): unknown {
    return (this.latest ?? this.opts.inherited)?.state;
  }

  /** Stop sending; resolves when no update is under way (so none can land after the result). */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.inflight?.catch(() => {});
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Arrange a send no sooner than `minGapMs` after the last one (at once when that time has passed). */
  private schedule(minGapMs: number): void {
    if (this.closed || this.lost) return;
    if (this.inflight) return; // the send under way reschedules when it ends (afterSend)
    const now = performance.now();
    const due = Math.max(now, this.lastSendAt + minGapMs);
    if (this.timer) {
      if (this.timerDue <= due) return; // a sooner send is already arranged
      this.clearTimer();
    }
    if (due <= now) {
      this.inflight = this.send().finally(() => {
        this.inflight = undefined;
        this.afterSend();
      });
      return;
    }
    this.setTimer(due - now, () => this.schedule(0));
  }

  private afterSend(): void {
    if (this.closed || this.lost || !this.latest) return;
    if (this.waiters.length) this.schedule(0);
    else if (this.latest.seq > this.sentSeq) this.schedule(this.failing ? Math.max(this.intervalMs, 1000) : this.intervalMs);
    // Nothing new: renew the lease before it runs out.
    else this.schedule(this.renewMs);
  }

  private setTimer(ms: number, fn: () => void): void {
    this.timerDue = performance.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Number.POSITIVE_INFINITY;
      fn();
    }, ms);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
  }

  private async send(): Promise<void> {
    const env = this.latest!;
    const { task, workerId, client, logger } = this.opts;
    const waiting = this.waiters.filter((w) => w.seq <= env.seq);
    this.waiters = this.waiters.filter((w) => w.seq > env.seq);
    this.lastSendAt = performance.now();
    try {
      if (!(await this.stillOurs())) {
        for (const w of waiting) w.resolve();
        return;
      }
      await client.updateTask({
        taskId: task.taskId,
        workflowInstanceId: task.workflowInstanceId,
        workerId,
        status: "IN_PROGRESS",
        callbackAfterSeconds: this.leaseSeconds,
        outputData: { [CHECKPOINT_KEY]: env },
      });
      this.sends++;
      this.sentSeq = Math.max(this.sentSeq, env.seq);
      if (this.failing) logger.info("checkpoints reach Conductor again");
      this.failing = false;
      logger.debug({ seq: env.seq }, "checkpoint saved");
      for (const w of waiting) w.resolve();
    } catch (err) {
      if (!this.failing) logger.warn({ err: (err as Error).message }, "could not save a checkpoint; retrying (a FAILED result would still carry it)");
      this.failing = true;
      for (const w of waiting) w.reject(err);
    }
  }

  private async stillOurs(): Promise<boolean> {
    const live = await readLiveness(this.opts.client, this.opts.task);
    if (live.live) return true;
    if (!this.lost) {
      this.lost = true;
      this.clearTimer();
      this.opts.onLost(live.reason);
    }
    return false;
  }
}
