/**
 * The effective settings of each worker: CLI flags (overrides) > environment (already merged
 * into registration.options by discovery) > decorator > WORKER_DEFAULTS.
 */
import os from "node:os";
import { WORKER_DEFAULTS } from "../task/options.ts";
import type { Registration } from "../task/registration.ts";
import type { WorkerSettings } from "./poller.ts";

/** Flags that override the decorator and the environment for every selected worker. */
export interface WorkerOverrides {
  /** Most tasks of one worker running at once. */
  concurrency?: number;
  /** Pause after an empty poll, ms. */
  pollIntervalMs?: number;
  /** Long-poll wait on the server, ms (0..5000). */
  pollTimeoutMs?: number;
  /** Task domain to poll in. */
  domain?: string;
  /** Worker id reported to Conductor. */
  workerId?: string;
  /** Abort and fail an execution after this many seconds (0 = none). */
  execTimeoutSeconds?: number;
  /** Heartbeat automatically before responseTimeoutSeconds runs out. */
  leaseExtend?: boolean;
}

/** A setting that cannot work, said so a person can fix it. */
export class SettingsError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

export function defaultWorkerId(): string {
  return `${os.hostname()}-${process.pid}`;
}

export function resolveSettings(reg: Registration, o: WorkerOverrides = {}): WorkerSettings {
  const opt = reg.options;
  const s: WorkerSettings = {
    name: reg.name,
    domain: o.domain ?? reg.domain ?? opt.domain ?? undefined,
    workerId: o.workerId ?? opt.workerId ?? defaultWorkerId(),
    concurrency: o.concurrency ?? opt.concurrency ?? WORKER_DEFAULTS.concurrency,
    pollIntervalMs: o.pollIntervalMs ?? opt.pollIntervalMs ?? WORKER_DEFAULTS.pollIntervalMs,
    pollTimeoutMs: o.pollTimeoutMs ?? opt.pollTimeoutMs ?? WORKER_DEFAULTS.pollTimeoutMs,
    execTimeoutSeconds: o.execTimeoutSeconds ?? opt.execTimeoutSeconds ?? WORKER_DEFAULTS.execTimeoutSeconds,
    leaseExtend: o.leaseExtend ?? opt.leaseExtend ?? WORKER_DEFAULTS.leaseExtend,
    isolation: opt.isolation ?? WORKER_DEFAULTS.isolation,
  };
  if (!s.domain) delete s.domain;
  checkSettings(s);
  return s;
}

/** Throws a SettingsError for a setting that cannot work (also used for live updates). */
export function checkSettings(s: Pick<WorkerSettings, "name" | "concurrency" | "pollIntervalMs" | "pollTimeoutMs" | "execTimeoutSeconds">): void {
  const bad = (what: string) => new SettingsError(`worker ${s.name}: ${what}`);
  if (!Number.isInteger(s.concurrency) || s.concurrency < 1) throw bad(`concurrency must be a whole number >= 1, got ${s.concurrency}`);
  if (!Number.isFinite(s.pollIntervalMs) || s.pollIntervalMs < 0) throw bad(`poll interval must be >= 0 ms, got ${s.pollIntervalMs}`);
  if (!Number.isFinite(s.pollTimeoutMs) || s.pollTimeoutMs < 0 || s.pollTimeoutMs > 5000) {
    throw bad(`poll timeout must be between 0 and 5000 ms (Conductor refuses longer long polls), got ${s.pollTimeoutMs}`);
  }
  if (!Number.isFinite(s.execTimeoutSeconds) || s.execTimeoutSeconds < 0) throw bad(`execution timeout must be >= 0 s, got ${s.execTimeoutSeconds}`);
}
