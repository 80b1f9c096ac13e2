/**
 * A stall is not a hang. After the process was stopped (SIGSTOP, Ctrl-Z, a VM pause) or its event
 * loop blocked (a long GC, CPU-bound work), every timer fires late, all at once, and Node runs
 * timers before it reads the sockets: a plain request timeout would abort a request whose answer
 * (tasks the server has already handed to this worker) is waiting in the socket. So timeouts here
 * compare a timer's lateness on the monotonic clock (performance.now()) first: a timer that fires
 * more than LATE_MS late re-arms for a short grace instead of aborting, which lets the I/O that
 * arrived during the stall be read; only a timer that fires on time ends the wait.
 */
import type { AbortListener, RequestSignal } from "../conductor/client.ts";

/** A timer this late (ms) means the process was not running, not that the wait was too long. */
export const LATE_MS = 1000;
/** How long a late timer waits again before it may give up (ms). */
export const STALL_GRACE_MS = 2000;
/** How many times in a row a late timer re-arms before it gives up anyway (a loop blocked again and again). */
const MAX_LATE_REARMS = 5;

/** How late a timer set to fire at `expectedAt` (performance.now() time) fired. */
export function lateness(expectedAt: number, now = performance.now()): number {
  return Math.max(0, now - expectedAt);
}

export interface StallAwareTimeout extends RequestSignal {
  /**
   * Aborts when the time is up (a timer that fired on time) or the parent aborted. Made on first
   * use: a request can take the timer itself as its signal (RequestSignal), which costs no
   * AbortController and no EventTarget per request.
   */
  readonly signal: AbortSignal;
  /** True once it aborted because the time was up. */
  readonly timedOut: boolean;
  clear(): void;
  /** End it now with this reason (as a parent's abort would). */
  abort(reason: unknown): void;
}

/**
 * An abort signal after `ms` of running time (see the file comment); `onStall` hears each late
 * fire. With `parent`, it also aborts when the parent does (with its reason): one timer per
 * request instead of a second signal from AbortSignal.any, which costs far more. For a timer on
 * every task's path the parent is an AbortGroup (abort-group.ts), not an AbortSignal: a listener
 * per task on a long-lived EventTarget kept each task's objects alive through young-generation GCs.
 */
export function stallAwareTimeout(ms: number, onStall?: (lateMs: number) => void, parent?: RequestSignal): StallAwareTimeout {
  return new StallTimer(ms, onStall, parent);
}

/**
 * One per request, so a class with its methods on the prototype: an object literal with a getter
 * (`timedOut`) gets a map of its own in V8's old space each time, which kept every request's
 * objects alive through minor GCs, and arrow functions in fields are closures made per request.
 * It listens to the parent as an EventTarget listener object (handleEvent), and the timer passes
 * it to `fireTimer` as setTimeout's argument.
 */
class StallTimer implements StallAwareTimeout, AbortListener {
  private ctl?: AbortController;
  private listeners?: AbortListener[];
  private expected: number;
  private rearms = 0;
  private timer: NodeJS.Timeout;
  timedOut = false;
  aborted = false;
  reason?: unknown;

  constructor(
    private readonly ms: number,
    private readonly onStall?: (lateMs: number) => void,
    private readonly parent?: RequestSignal,
  ) {
    this.expected = performance.now() + ms;
    this.timer = setTimeout(fireTimer, ms, this);
    if (parent?.aborted) this.handleEvent();
    else parent?.addEventListener("abort", this, { once: true });
  }

  get signal(): AbortSignal {
    if (!this.ctl) {
      this.ctl = new AbortController();
      if (this.aborted) this.ctl.abort(this.reason);
    }
    return this.ctl.signal;
  }

  addEventListener(_type: "abort", listener: AbortListener): void {
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: AbortListener): void {
    const i = this.listeners ? this.listeners.indexOf(listener) : -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.parent?.removeEventListener("abort", this);
  }

  /** The parent aborted. */
  handleEvent(): void {
    this.abort(this.parent?.reason);
  }

  abort(reason: unknown): void {
    clearTimeout(this.timer);
    this.end(reason);
  }

  fire(): void {
    const late = lateness(this.expected);
    if (late > LATE_MS && this.rearms < MAX_LATE_REARMS) {
      this.rearms++;
      this.onStall?.(late);
      this.expected = performance.now() + STALL_GRACE_MS;
      this.timer = setTimeout(fireTimer, STALL_GRACE_MS, this);
      return;
    }
    this.timedOut = true;
    this.end(new Error(`no answer within ${this.ms} ms`));
  }

  private end(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.ctl?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l.handleEvent();
  }
}

function fireTimer(t: StallTimer): void {
  t.fire();
}
