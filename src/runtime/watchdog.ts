/**
 * The watchdog: checks every poll loop on an interval; a loop whose current step overran its
 * deadline (a sleep that never woke, a request that outlived its own timeout) gets a fresh loop
 * (the old one's poll request is left to finish: its answer may hold tasks, see Poller.restart).
 *
 * A stall is not a hang: when the watchdog's own timer fires late on the monotonic clock, the
 * process was not running (SIGSTOP, a VM pause, a long GC, a CPU-bound task on the event loop).
 * That time does not count against any loop: their deadlines move by the lateness, the stall is
 * logged, and nothing is restarted this round. The watchdog's own timer is the only one it runs:
 * a timer is a wake-up of the process for as long as it runs (docs/performance.md, "Timers that
 * woke a busy worker").
 */
import type { Logger } from "pino";
import type { RuntimeEvents } from "./events.ts";
import type { Poller } from "./poller.ts";
import { LATE_MS, lateness } from "./stall.ts";

export class Watchdog {
  restarts = 0;
  /** Stalls seen (the process was not running for more than LATE_MS). */
  stalls = 0;
  private timer?: NodeJS.Timeout;
  private expected = 0;

  constructor(
    private readonly pollers: Poller[],
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
    private readonly events?: RuntimeEvents,
  ) {}

  start(): void {
    this.expected = performance.now() + this.intervalMs;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = performance.now();
    const late = lateness(this.expected, now);
    this.expected = now + this.intervalMs;
    if (late > LATE_MS) {
      this.stall(late);
      return;
    }
    this.check(now);
  }

  /** The process was not running for `lateMs`: move every deadline by that much. */
  stall(lateMs: number): void {
    this.stalls++;
    for (const p of this.pollers) p.postpone(lateMs);
    this.logger.warn(
      { stalledMs: Math.round(lateMs) },
      `the process was not running for ${(lateMs / 1000).toFixed(1)} s (stopped, paused or its event loop blocked): not a hang, nothing restarted`,
    );
  }

  /** One round of checks; returns how many loops were restarted. */
  check(now = performance.now()): number {
    let n = 0;
    for (const p of this.pollers) {
      if (!p.hung(now)) continue;
      p.restart();
      this.restarts++;
      n++;
      this.events?.emit("watchdog:restart", { worker: p.name, domain: p.settings.domain });
      this.logger.warn(
        { worker: p.name, restarts: p.stats.restarts },
        `poll loop of ${p.name} stopped moving: restarted (a poll request under way is left to finish)`,
      );
    }
    return n;
  }
}
