/**
 * Exponential backoff with full jitter, and an abortable sleep. Used by the pollers and the
 * result delivery while Conductor is unreachable.
 */

export interface BackoffOptions {
  /** First delay in ms (before jitter). */
  baseMs?: number;
  /** Largest delay in ms. */
  capMs?: number;
  /** Random source in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

export const BACKOFF_DEFAULTS = { baseMs: 200, capMs: 10_000 } as const;

/** The delay before retry number `attempt` (1-based): uniform in [d/2, d] with d = min(cap, base * 2^(attempt-1)). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const cap = opts.capMs ?? BACKOFF_DEFAULTS.capMs;
  const random = opts.random ?? Math.random;
  const exp = Math.min(cap, base * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Counts consecutive failures and hands out the next delay; `reset()` after a success. */
export class Backoff {
  attempts = 0;
  constructor(private readonly opts: BackoffOptions = {}) {}
  next(): number {
    this.attempts++;
    return backoffDelay(this.attempts, this.opts);
  }
  reset(): void {
    this.attempts = 0;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
