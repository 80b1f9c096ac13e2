/**
 * Liveness and readiness of a worker run, for Kubernetes probes and supervisors, worked out
 * from the run's events (src/runtime/events.ts) plus its live state at request time.
 *
 * live:  the event loop answers (this code runs at all, and its lag is reported) and no poll
 *        loop is stuck past the watchdog: restarted `stuckRestarts` times in a row without a
 *        poll finishing, or silent while it has a free slot for longer than it could be
 *        legitimately (poll interval + long poll + `silentAfterMs`).
 * ready: every selected worker has polled successfully at least once, the run is not draining
 *        or stopped, and Conductor has not been failing (polls and result updates, no success in
 *        between) for longer than `unreachableAfterMs`.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { RuntimeEvents } from "../runtime/events.ts";
import type { WorkerSnapshot } from "./snapshot.ts";

export interface HealthOptions {
  events: RuntimeEvents;
  /** Live state of the workers; until it is set (the run started), the run is not ready. */
  snapshot?: () => WorkerSnapshot | undefined;
  /** Not ready once Conductor has been failing this long without a success (ms; default 30000). */
  unreachableAfterMs?: number;
  /** Not live after this many watchdog restarts of one loop in a row without a poll finishing (default 3). */
  stuckRestarts?: number;
  /** Slack beyond poll interval + long-poll time before a silent loop with a free slot counts as stuck (ms; default 60000). */
  silentAfterMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * The event-loop delay histogram's sampling period. Its timer wakes the process this often for as
 * long as the run lasts: at 20 ms, 50 wake-ups a second, more than a busy worker's own (docs/
 * performance.md, "Timers that woke a busy worker"). A loop blocked for longer than this is seen
 * at any period; the report subtracts the period.
 */
export const LOOP_RESOLUTION_MS = 250;

export const HEALTH_DEFAULTS = { unreachableAfterMs: 30_000, stuckRestarts: 3, silentAfterMs: 60_000 } as const;

interface WorkerState {
  firstPollOkAt?: number;
  lastPollOkAt?: number;
  /** Last sign of life of the loop or its slots (poll, task start or end). */
  lastActivityAt: number;
  restartsWithoutPoll: number;
}

export interface LiveReport {
  live: boolean;
  reasons: string[];
  eventLoop: { delayP99Ms: number; delayMaxMs: number };
  workers: Array<{ worker: string; ok: boolean; lastActivityAgoMs: number; restartsWithoutPoll: number }>;
}

export interface ReadyReport {
  ready: boolean;
  reasons: string[];
  draining: boolean;
  conductor: { ok: boolean; failingForMs?: number; lastError?: string };
  workers: Array<{ worker: string; polled: boolean; lastPollOkAgoMs?: number }>;
}

export class WorkerHealth {
  private readonly workers = new Map<string, WorkerState>();
  private draining?: string;
  private stopped = false;
  private failingSince?: number;
  private lastError?: string;
  private readonly startedAt: number;
  private readonly loop: IntervalHistogram;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly opts: HealthOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
    const ev = opts.events;
    const sub = (off: () => void) => this.unsubscribe.push(off);
    sub(
      ev.on("poll", (e) => {
        const w = this.worker(e.worker);
        const t = this.now();
        w.lastActivityAt = t;
        w.restartsWithoutPoll = 0;
        if (e.outcome === "error") this.failed(e.error);
        else {
          w.firstPollOkAt ??= t;
          w.lastPollOkAt = t;
          this.succeeded();
        }
      }),
    );
    sub(ev.on("task:started", (e) => void (this.worker(e.worker).lastActivityAt = this.now())));
    sub(ev.on("task:finished", (e) => void (this.worker(e.worker).lastActivityAt = this.now())));
    sub(
      ev.on("delivery:attempt", (e) => {
        if (e.ok) this.succeeded();
        else if (e.httpStatus === undefined || e.httpStatus >= 500 || e.httpStatus === 429) this.failed(e.error);
      }),
    );
    sub(ev.on("watchdog:restart", (e) => void this.worker(e.worker).restartsWithoutPoll++));
    sub(ev.on("draining", (e) => void (this.draining = e.reason)));
    sub(ev.on("stopped", () => void (this.stopped = true)));
  }

  private worker(name: string): WorkerState {
    let w = this.workers.get(name);
    if (!w) this.workers.set(name, (w = { lastActivityAt: this.now(), restartsWithoutPoll: 0 }));
    return w;
  }

  private failed(error?: string): void {
    this.failingSince ??= this.now();
    if (error) this.lastError = error;
  }

  private succeeded(): void {
    this.failingSince = undefined;
    this.lastError = undefined;
  }

  liveness(): LiveReport {
    const now = this.now();
    const snap = this.opts.snapshot?.();
    const stuckRestarts = this.opts.stuckRestarts ?? HEALTH_DEFAULTS.stuckRestarts;
    const slack = this.opts.silentAfterMs ?? HEALTH_DEFAULTS.silentAfterMs;
    const reasons: string[] = [];
    const workers: LiveReport["workers"] = [];
    // A draining or stopped run polls no more by design: only restarts count then.
    const polling = !this.draining && !this.stopped;
    for (const w of snap?.workers ?? []) {
      const st = this.worker(w.name);
      let ok = true;
      if (st.restartsWithoutPoll >= stuckRestarts) {
        ok = false;
        reasons.push(`poll loop of ${w.name} is stuck: the watchdog restarted it ${st.restartsWithoutPoll} times and no poll finished`);
      } else if (polling && w.inFlight < w.concurrency) {
        const bound = w.pollIntervalMs + w.pollTimeoutMs + slack;
        const silent = now - Math.max(st.lastActivityAt, this.startedAt);
        if (silent > bound) {
          ok = false;
          reasons.push(`poll loop of ${w.name} has not polled for ${Math.round(silent / 1000)} s with a free slot (bound ${Math.round(bound / 1000)} s)`);
        }
      }
      workers.push({ worker: w.name, ok, lastActivityAgoMs: now - st.lastActivityAt, restartsWithoutPoll: st.restartsWithoutPoll });
    }
    // The histogram holds timer periods (resolution + lateness); report the lateness.
    const lag = (ns: number) => (this.loop.count > 0 ? round(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS)) : 0);
    const eventLoop = { delayP99Ms: lag(this.loop.percentile(99)), delayMaxMs: lag(this.loop.max) };
    this.loop.reset();
    return { live: reasons.length === 0, reasons, eventLoop, workers };
  }

  readiness(): ReadyReport {
    const now = this.now();
    const snap = this.opts.snapshot?.();
    const bound = this.opts.unreachableAfterMs ?? HEALTH_DEFAULTS.unreachableAfterMs;
    const reasons: string[] = [];
    if (this.stopped) reasons.push("the workers have stopped");
    else if (this.draining) reasons.push(`draining (${this.draining}): no new tasks are taken`);
    if (!snap) reasons.push("the workers have not started yet");
    const workers: ReadyReport["workers"] = [];
    for (const w of snap?.workers ?? []) {
      const st = this.worker(w.name);
      const polled = st.firstPollOkAt !== undefined;
      if (!polled) reasons.push(`${w.name} has not polled Conductor successfully yet`);
      workers.push({ worker: w.name, polled, ...(st.lastPollOkAt !== undefined ? { lastPollOkAgoMs: now - st.lastPollOkAt } : {}) });
    }
    const failingForMs = this.failingSince === undefined ? undefined : now - this.failingSince;
    const conductorOk = failingForMs === undefined || failingForMs <= bound;
    if (!conductorOk)
      reasons.push(
        `Conductor has been failing for ${Math.round(failingForMs! / 1000)} s (bound ${Math.round(bound / 1000)} s)${this.lastError ? `: ${this.lastError}` : ""}`,
      );
    return {
      ready: reasons.length === 0,
      reasons,
      draining: this.draining !== undefined,
      conductor: { ok: conductorOk, ...(failingForMs !== undefined ? { failingForMs } : {}), ...(this.lastError ? { lastError: this.lastError } : {}) },
      workers,
    };
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.loop.disable();
  }
}

const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 10) / 10 : 0);
