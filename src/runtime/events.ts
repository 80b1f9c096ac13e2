/**
 * What the runtime tells the outside world as it works: one typed event emitter per run, shared
 * by the pollers, the delivery, the watchdog and the handler. Metrics (Prometheus), health
 * endpoints and the programmatic API's events all listen here; nothing in the runtime depends on
 * anyone listening. Emitting is synchronous and cheap: listeners must not block or throw (a
 * listener that throws is caught and ignored, so observation can never break a worker).
 */
import { EventEmitter } from "node:events";
import type { TaskResult } from "../conductor/types.ts";

export type PollOutcome = "tasks" | "empty" | "error";

export interface RuntimeEventMap {
  /** One poll request ended. `count` is how many tasks it brought. */
  poll: { worker: string; domain?: string; outcome: PollOutcome; count: number; durationMs: number; error?: string };
  /** A task started in a slot (from a poll, or handed back by update-v2 when `chained`). */
  "task:started": {
    worker: string;
    domain?: string;
    taskId: string;
    workflowId: string;
    chained: boolean;
    /** Milliseconds from the server's scheduledTime to now, when the task says when it was scheduled. */
    queueWaitMs?: number;
    inFlight: number;
    concurrency: number;
  };
  /** A task's execution ended with this result (before delivery). */
  "task:finished": {
    worker: string;
    domain?: string;
    taskId: string;
    workflowId: string;
    status: TaskResult["status"];
    /** True when the execution timeout (execTimeoutSeconds) ended it. */
    timedOut: boolean;
    /** True when the server cancelled the task (or gave it to another worker): the result is not sent. */
    cancelled: boolean;
    durationMs: number;
    reason?: string;
    inFlight: number;
    concurrency: number;
  };
  /** One attempt to send a result; `ok` false means it will be retried (or was refused). */
  "delivery:attempt": {
    taskId: string;
    /** The task type (absent for a result an older idflow spooled). */
    worker?: string;
    ok: boolean;
    httpStatus?: number;
    error?: string;
    /** How long the update call took. */
    durationMs?: number;
  };
  /** Results waiting for delivery (memory and disk) changed. */
  "delivery:backlog": { backlog: number; spooled: number };
  /** A result Conductor will never take (404, or refused) was set aside. */
  "delivery:dropped": {
    taskId: string;
    /** The task type (absent for a result an older idflow spooled). */
    worker?: string;
    reason: string;
  };
  /** The watchdog restarted a poll loop. */
  "watchdog:restart": { worker: string; domain?: string };
  /** The run began draining (first signal or stop()). */
  draining: { reason: string };
  /** The run ended. */
  stopped: { reason: string; exitCode: number };
}

export type RuntimeEventName = keyof RuntimeEventMap;

export class RuntimeEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  on<K extends RuntimeEventName>(name: K, listener: (e: RuntimeEventMap[K]) => void): () => void {
    const safe = (e: RuntimeEventMap[K]) => {
      try {
        listener(e);
      } catch {
        // observation never breaks a worker
      }
    };
    this.emitter.on(name, safe);
    return () => this.emitter.off(name, safe);
  }

  /** True when someone listens to `name` (build the event only then: the hot path's events have no listener unless metrics, health or the API are on). */
  wants(name: RuntimeEventName): boolean {
    return this.emitter.listenerCount(name) > 0;
  }

  emit<K extends RuntimeEventName>(name: K, e: RuntimeEventMap[K]): void {
    if (this.emitter.listenerCount(name) > 0) this.emitter.emit(name, e);
  }
}
