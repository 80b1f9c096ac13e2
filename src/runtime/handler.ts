/**
 * runWorkers: the one entry point that runs workers (used by `idflow worker start` and
 * `idflow dev`). It delivers results spooled by an earlier run first, starts one poller per
 * worker plus the watchdog, and owns shutdown:
 *   first SIGINT/SIGTERM (or stop()): stop polling, let in-flight tasks finish within the grace
 *   period, deliver their results, abort what is left and report each FAILED "worker shutting
 *   down" (so Conductor retries it at once), deliver within a bounded window, spool the rest;
 *   second signal: exit 130 at once (results still in memory are spooled synchronously first).
 */
import type { Logger } from "pino";
import type { ConductorClient } from "../conductor/client.ts";
import type { Registration } from "../task/registration.ts";
import { silentLogger } from "../log.ts";
import { sleep, type BackoffOptions } from "./backoff.ts";
import { ResultDelivery, type DeliveryStats } from "./delivery.ts";
import { RuntimeEvents } from "./events.ts";
import { SHUTDOWN_REASON, type Invoker } from "./executor.ts";
import { OutageTracker } from "./outage.ts";
import { Poller, type PollerStats, type WorkerSettings } from "./poller.ts";
import { checkSettings, resolveSettings, SettingsError, type WorkerOverrides } from "./settings.ts";
import { spoolDir } from "./spool.ts";
import { ThreadPool } from "./thread-runner.ts";
import { Watchdog } from "./watchdog.ts";

export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
export const DEFAULT_FINAL_DELIVERY_MS = 10_000;

export interface RunWorkersOptions {
  client: ConductorClient;
  registrations: Registration[];
  /** Flags that beat the decorator and the environment, for every worker. */
  overrides?: WorkerOverrides;
  /** idflow's state directory (the spool lives in `<stateDir>/spool`). */
  stateDir: string;
  logger?: Logger;
  /** How long in-flight tasks may run on after the first signal (default 30 s). */
  shutdownGraceMs?: number;
  /** How long undelivered results are retried at shutdown before they are spooled (default 10 s). */
  finalDeliveryMs?: number;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
  /** Called on a second signal (default: process.exit). */
  exit?: (code: number) => void;
  /** Results kept in memory while Conductor is away; beyond that they continue on disk. */
  maxInMemoryResults?: number;
  backoff?: BackoffOptions;
  watchdogIntervalMs?: number;
  /** Extra time a poll step may overrun before the watchdog restarts it (default 15 s). */
  hangMarginMs?: number;
  /** Use update-v2 (default true). */
  updateV2?: boolean;
  /** Where the run reports what it does (metrics, health, API events); a fresh one by default. */
  events?: RuntimeEvents;
}

export interface RunSummary {
  /** Why the run ended ("SIGTERM", "SIGINT", "stop"). */
  reason: string;
  /** Tasks aborted at the end of the grace period. */
  aborted: number;
  /** Results written to the spool for the next start. */
  spooled: number;
  delivery: DeliveryStats;
  workers: Record<string, PollerStats>;
  watchdogRestarts: number;
  /** 0 for a clean stop. */
  exitCode: number;
}

export interface WorkerRun {
  /** What runs, with the effective settings. */
  readonly workers: WorkerSettings[];
  /** What the run reports as it works (polls, task starts and ends, delivery, watchdog, draining). */
  readonly events: RuntimeEvents;
  /** Begin a clean shutdown (what the first signal does); resolves with the summary. */
  stop(reason?: string): Promise<RunSummary>;
  /** Resolves when the run has ended. */
  readonly finished: Promise<RunSummary>;
  /** Live counters. */
  stats(): { delivery: DeliveryStats; workers: Record<string, PollerStats>; watchdogRestarts: number };
  /** True while at least one worker polls for new tasks. */
  isPolling(): boolean;
  /**
   * Change polling settings of one worker (by task name) or of all ("*") while running; checked
   * like startup settings (a SettingsError names the worker). Returns the settings now in force.
   */
  update(name: string, patch: PollingPatch): WorkerSettings[];
}

/** What can change while a run goes on. */
export type PollingPatch = Partial<Pick<WorkerSettings, "concurrency" | "pollIntervalMs" | "pollTimeoutMs">> & { paused?: boolean };

export async function runWorkers(opts: RunWorkersOptions): Promise<WorkerRun> {
  const logger = opts.logger ?? silentLogger();
  const graceMs = opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const finalMs = opts.finalDeliveryMs ?? DEFAULT_FINAL_DELIVERY_MS;
  const settings = opts.registrations.map((r) => resolveSettings(r, opts.overrides));
  const outage = new OutageTracker(logger, opts.client.baseUrl);
  const events = opts.events ?? new RuntimeEvents();
  const delivery = new ResultDelivery({
    client: opts.client,
    logger,
    outage,
    spoolDir: spoolDir(opts.stateDir),
    maxInMemory: opts.maxInMemoryResults,
    backoff: opts.backoff,
    updateV2: opts.updateV2,
    events,
  });
  delivery.recoverSpool();

  let threads: ThreadPool | undefined;
  const pollers = opts.registrations.map((reg, i) => {
    const s = settings[i];
    let invoke: Invoker | undefined;
    if (s.isolation === "thread") {
      threads ??= new ThreadPool(logger);
      invoke = threads.invoker;
    }
    return new Poller({
      reg,
      settings: s,
      client: opts.client,
      delivery,
      outage,
      logger: logger.child({ worker: s.name }),
      invoke,
      backoff: opts.backoff,
      hangMarginMs: opts.hangMarginMs,
      events,
    });
  });
  const watchdog = new Watchdog(pollers, logger, opts.watchdogIntervalMs, events);
  for (const p of pollers) p.start();
  watchdog.start();

  const stats = () => ({
    delivery: { ...delivery.stats, backlog: delivery.backlog },
    workers: Object.fromEntries(pollers.map((p) => [p.name + (p.settings.domain ? `@${p.settings.domain}` : ""), { ...p.stats }])),
    watchdogRestarts: watchdog.restarts,
  });

  let resolveFinished!: (s: RunSummary) => void;
  const finished = new Promise<RunSummary>((r) => (resolveFinished = r));
  let stopping: Promise<RunSummary> | undefined;
  let signals = 0;

  const stop = (reason = "stop"): Promise<RunSummary> => {
    stopping ??= (async () => {
      const inFlight = pollers.reduce((n, p) => n + p.inFlight, 0);
      events.emit("draining", { reason });
      logger.info({ reason, inFlight, graceMs }, `stopping (${reason}): no new tasks; ${inFlight} in flight, waiting up to ${Math.round(graceMs / 1000)} s for them`);
      watchdog.stop();
      for (const p of pollers) p.stop();
      const allDrained = () => Promise.all(pollers.map((p) => p.drained()));
      const graceCtl = new AbortController();
      const done = await Promise.race([allDrained().then(() => true), sleep(graceMs, graceCtl.signal).then(() => false)]);
      graceCtl.abort();
      let aborted = 0;
      if (!done) {
        for (const p of pollers) aborted += p.abortAll(SHUTDOWN_REASON);
        logger.warn({ aborted }, `grace period over: ${aborted} task(s) aborted and reported FAILED ("${SHUTDOWN_REASON}") so Conductor retries them`);
      }
      // Every execution has settled now; the slots finish once their results are handed over.
      const spooled = await delivery.close(finalMs, allDrained());
      await threads?.close();
      removeSignals();
      const s = stats();
      const summary: RunSummary = { reason, aborted, spooled, delivery: s.delivery, workers: s.workers, watchdogRestarts: s.watchdogRestarts, exitCode: 0 };
      const completed = Object.values(s.workers).reduce((n, w) => n + w.completed, 0);
      logger.info({ completed, delivered: s.delivery.delivered, spooled, aborted }, `stopped: ${completed} task(s) completed, ${s.delivery.delivered} result(s) delivered${spooled ? `, ${spooled} spooled` : ""}`);
      events.emit("stopped", { reason, exitCode: summary.exitCode });
      resolveFinished(summary);
      return summary;
    })();
    return stopping;
  };

  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      void stop(sig);
      return;
    }
    logger.warn(`${sig} again: exiting now (in-flight tasks are abandoned; Conductor retries them after their response timeout)`);
    try {
      delivery.spoolNow();
    } finally {
      (opts.exit ?? ((c: number) => process.exit(c)))(130);
    }
  };
  const handleSignals = opts.handleSignals ?? true;
  const removeSignals = () => {
    if (!handleSignals) return;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  if (handleSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }

  const update = (name: string, patch: PollingPatch): WorkerSettings[] => {
    const targets = pollers.filter((p) => name === "*" || p.name === name);
    if (targets.length === 0) {
      throw new SettingsError(`no running worker named ${JSON.stringify(name)}; running: ${pollers.map((p) => p.name).join(", ") || "none"} (or "*" for all)`);
    }
    const { paused, ...numbers } = patch;
    for (const k of Object.keys(numbers) as Array<keyof typeof numbers>) if (numbers[k] === undefined) delete numbers[k];
    for (const p of targets) checkSettings({ ...p.settings, ...numbers });
    for (const p of targets) p.update(paused === undefined ? numbers : { ...numbers, paused });
    return targets.map((p) => ({ ...p.settings }));
  };
  const isPolling = () => !stopping && pollers.some((p) => p.polling);

  return { workers: settings, events, stop, finished, stats, isPolling, update };
}
