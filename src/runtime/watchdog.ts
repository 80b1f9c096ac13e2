/**
 * The watchdog: checks every poll loop on an interval; a loop whose current step overran its
 * deadline (a request hung past its timeout, a sleep that never woke) is abandoned and a fresh
 * one started. Restarts are counted per worker and logged.
 */
import type { Logger } from "pino";
import type { RuntimeEvents } from "./events.ts";
import type { Poller } from "./poller.ts";

export class Watchdog {
  restarts = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pollers: Poller[],
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
    private readonly events?: RuntimeEvents,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of checks; returns how many loops were restarted. */
  check(now = Date.now()): number {
    let n = 0;
    for (const p of this.pollers) {
      if (!p.hung(now)) continue;
      p.restart();
      this.restarts++;
      n++;
      this.events?.emit("watchdog:restart", { worker: p.name, domain: p.settings.domain });
      this.logger.warn({ worker: p.name, restarts: p.stats.restarts }, `poll loop of ${p.name} stopped moving: restarted`);
    }
    return n;
  }
}
