/**
 * runWorkers: the one entry point that runs workers (used by `idflow worker start` and
 * `idflow dev`). It delivers results spooled by an earlier run first, starts one poller per
 * worker plus the watchdog, and owns shutdown:
 *   first SIGINT/SIGTERM (or stop()): stop polling, let in-flight tasks finish within the grace
 *   period, deliver their results, abort what is left and report each FAILED "worker shutting
 *   down" (so Conductor retries it at once), deliver within a bounded window, spool the rest;
 *   second signal: exit 130 at once (every result is already in the spool; the next start delivers it).
 * It also owns crashes: an uncaughtException or unhandledRejection raised inside a task (found
 * through the task's AsyncLocalStorage context) fails that task only; one outside any task is
 * logged, and an uncaught exception there stops the run cleanly with exit code 1. Results are
 * in the spool before they are sent, so even a process that dies leaves nothing behind.
 */
import type { Logger } from "pino";
import type { ConductorClient } from "../conductor/client.ts";
import type { Registration } from "../task/registration.ts";
import { silentLogger } from "../log.ts";
import { sleep, type BackoffOptions } from "./backoff.ts";
import { contextStorage } from "./context.ts";
import { deadLetterFile } from "./dead-letter.ts";
import { ResultDelivery, type DeliveryStats } from "./delivery.ts";
import { RuntimeEvents } from "./events.ts";
import { SHUTDOWN_REASON, type Invoker } from "./executor.ts";
import { OutageTracker } from "./outage.ts";
import { Poller, type PollerStats, type WorkerSettings } from "./poller.ts";
import { checkSettings, resolveSettings, SettingsError, type WorkerOverrides } from "./settings.ts";
import { spoolDir, type SpoolSync } from "./spool.ts";
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
  /** Install uncaughtException/unhandledRejection handlers (default: as handleSignals). */
  handleCrashes?: boolean;
  /** When spool appends are synced to the device: "background" (default), "always" or "never" (see SpoolSync in spool.ts). */
  spoolSync?: SpoolSync;
  /** No spool (the benchmark's baseline only: results are lost when the process dies). */
  spoolOff?: boolean;
  /** Results waiting for Conductor past which no new work is taken (default: maxInMemoryResults). */
  pauseAboveBacklog?: number;
  /** Largest task output sent, in bytes of JSON (default 10 MiB, Conductor's default limit). */
  maxOutputBytes?: number;
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
  /** 0 for a clean stop, 1 after an uncaught exception outside any task. */
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
    deadLetterFile: deadLetterFile(opts.stateDir),
    spoolSync: opts.spoolSync,
    spoolOff: opts.spoolOff,
    pauseAbove: opts.pauseAboveBacklog,
    maxOutputBytes: opts.maxOutputBytes,
    maxInMemory: opts.maxInMemoryResults,
    backoff: opts.backoff,
    updateV2: opts.updateV2,
    events,
  });

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
  let exitCode = 0;

  const stop = (reason = "stop"): Promise<RunSummary> => {
    stopping ??= (async () => {
      const inFlight = pollers.reduce((n, p) => n + p.inFlight, 0);
      events.emit("draining", { reason });
      logger.info(
        { reason, inFlight, graceMs },
        `stopping (${reason}): no new tasks; ${inFlight} in flight, waiting up to ${Math.round(graceMs / 1000)} s for them`,
      );
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
      // Workers that hold resources (exec workers: their programs) release them once every result is handed over.
      await Promise.all(
        opts.registrations.map((r) => r.dispose?.().catch((err) => logger.warn({ worker: r.name, err: (err as Error).message }, "dispose failed"))),
      );
      removeSignals();
      removeCrashHandlers();
      const s = stats();
      const summary: RunSummary = { reason, aborted, spooled, delivery: s.delivery, workers: s.workers, watchdogRestarts: s.watchdogRestarts, exitCode };
      const completed = Object.values(s.workers).reduce((n, w) => n + w.completed, 0);
      logger.info(
        { completed, delivered: s.delivery.delivered, spooled, aborted },
        `stopped: ${completed} task(s) completed, ${s.delivery.delivered} result(s) delivered${spooled ? `, ${spooled} spooled` : ""}`,
      );
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

  // A stray error: fail the task it came from (its AsyncLocalStorage context says which), never the pool.
  const onStray = (kind: "uncaughtException" | "unhandledRejection") => (err: unknown) => {
    const e = err as Error | undefined;
    const message = (e && typeof e === "object" ? e.message : String(err)) || String(err);
    const ctx = contextStorage.getStore();
    const ex = ctx ? pollers.map((p) => p.executions.find((run) => run.task.taskId === ctx.taskId)).find((x) => x) : undefined;
    const what = kind === "uncaughtException" ? "an uncaught exception" : "an unhandled promise rejection";
    if (ctx && ex) {
      logger.error(
        { taskId: ctx.taskId, workflowId: ctx.workflowInstanceId, err: message, stack: e?.stack },
        `task ${ctx.taskId} (${ctx.taskType}) raised ${what} outside its own promise chain: the task is failed, the workers go on`,
      );
      ex.abort(`${what} in the task: ${message}`);
      return;
    }
    if (kind === "unhandledRejection") {
      logger.error({ err: message, stack: e?.stack }, `${what} outside any task: logged, the workers go on`);
      return;
    }
    logger.fatal({ err: message, stack: e?.stack }, `${what} outside any task: stopping cleanly (undelivered results are in the spool), exit code 1`);
    exitCode = 1;
    void stop("uncaughtException");
  };
  const onUncaught = onStray("uncaughtException");
  const onUnhandled = onStray("unhandledRejection");
  const handleCrashes = opts.handleCrashes ?? handleSignals;
  const removeCrashHandlers = () => {
    if (!handleCrashes) return;
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUnhandled);
  };
  if (handleCrashes) {
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUnhandled);
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
