/**
 * One view of "is Conductor reachable?" shared by every poller and the result delivery, so an
 * outage is logged once when it starts (warn) and once when it ends (info, with its duration
 * and how many calls failed), not once per attempt.
 */
import type { Logger } from "pino";

export class OutageTracker {
  private since?: number;
  private failures = 0;
  /** Outages seen since start. */
  count = 0;

  constructor(
    private readonly logger: Logger,
    private readonly serverUrl: string,
  ) {}

  get down(): boolean {
    return this.since !== undefined;
  }

  /** A call could not reach Conductor (no answer, 5xx, 429). */
  failed(err: unknown): void {
    this.failures++;
    if (this.since !== undefined) return;
    this.since = Date.now();
    this.count++;
    const e = err as { status?: number; code?: string; message?: string };
    this.logger.warn(
      { status: e?.status, code: e?.code, call: (err as { call?: string })?.call },
      `cannot reach Conductor at ${this.serverUrl}; retrying with backoff`,
    );
  }

  /** A call got a proper answer. */
  ok(): void {
    if (this.since === undefined) return;
    const ms = Date.now() - this.since;
    this.logger.info(
      { outageMs: ms, failedCalls: this.failures },
      `Conductor at ${this.serverUrl} is reachable again after ${(ms / 1000).toFixed(1)} s (${this.failures} failed calls)`,
    );
    this.since = undefined;
    this.failures = 0;
  }
}
