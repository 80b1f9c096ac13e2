/**
 * One abort that ends many requests and timers at once: delivery's close() ends every update
 * under way through one. It is a RequestSignal (src/conductor/client.ts) that keeps its listeners
 * in a plain array, neither an EventTarget nor a Set, because every task adds a listener and
 * removes it again:
 *  - Node's EventTarget (20.x) keeps listeners in a linked list and leaves a removed listener
 *    pointing at the next one.
 *  - A Set rebuilds its table as entries come and go, and leaves each old table pointing at the
 *    next (in-flight.ts says how).
 * Either way, once one dead piece had reached the old generation it kept the next request's
 * listener, and all that listener holds, alive through young-generation GCs. That made each
 * task's objects old. An array only holds what is under way: a handful of entries (at most the
 * updates running at once), searched from the oldest.
 */
import type { AbortListener, RequestSignal } from "../conductor/client.ts";

export class AbortGroup implements RequestSignal {
  aborted = false;
  reason?: unknown;
  private listeners: AbortListener[] = [];

  /** Listen until removed, or until the group aborts (then once). A listener added after the abort is not called, as with an AbortSignal. */
  addEventListener(_type: "abort", listener: AbortListener): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: AbortListener): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** Listeners under way now. */
  get size(): number {
    return this.listeners.length;
  }

  /** Abort every listener with this reason, once. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l.handleEvent();
  }
}
