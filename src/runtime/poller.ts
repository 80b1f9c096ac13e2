/**
 * One poll loop per worker, all on one event loop. It long-polls for exactly the free slots
 * (never more than `concurrency` tasks in flight), starts each task at once, and reuses a slot
 * for the next task update-v2 hands back. No sleep while there is work: the poll interval
 * applies only after an empty long poll. Errors back off exponentially with jitter and the loop
 * recovers by itself. The watchdog (watchdog.ts) restarts a loop whose current step overruns.
 */
import type { Logger } from "pino";
import { TaskLog } from "../log.ts";
import type { ConductorClient } from "../conductor/client.ts";
import { ConductorError } from "../conductor/errors.ts";
import type { Task, TaskResult } from "../conductor/types.ts";
import type { Registration } from "../task/registration.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import type { ResultDelivery } from "./delivery.ts";
import { execute, type Execution, type Invoker } from "./executor.ts";
import { InFlight } from "./in-flight.ts";
import type { RuntimeEvents } from "./events.ts";
import type { OutageTracker } from "./outage.ts";
import { ProtocolChooser } from "./protocol.ts";
import { stallAwareTimeout } from "./stall.ts";

/** Server-side wait for a batch poll while tasks are flowing (ms): take what is ready, do not wait for a full batch. */
export const BUSY_POLL_TIMEOUT_MS = 0;
/** Extra time a poll step may take beyond its long-poll time before the watchdog calls it hung. */
export const HANG_MARGIN_MS = 15_000;
/** How long a poll request may take beyond its long-poll time before it is given up (ms of running time, see stall.ts). */
export const POLL_ANSWER_MARGIN_MS = 10_000;
/** What the poll loop's `tasks` holds once a batch is handed out (nothing, and no allocation per poll). */
const NO_TASKS: Task[] = [];

/** The effective settings of one worker (after flags > env > decorator > defaults). */
export interface WorkerSettings {
  name: string;
  domain?: string;
  workerId: string;
  concurrency: number;
  pollIntervalMs: number;
  pollTimeoutMs: number;
  execTimeoutSeconds: number;
  leaseExtend: boolean;
  isolation: "none" | "thread";
}

export interface PollerOptions {
  reg: Registration;
  settings: WorkerSettings;
  client: ConductorClient;
  delivery: ResultDelivery;
  outage: OutageTracker;
  logger: Logger;
  invoke?: Invoker;
  backoff?: BackoffOptions;
  /** Overrides HANG_MARGIN_MS (tests). */
  hangMarginMs?: number;
  /** Where the poller reports polls and task starts/ends (metrics, health, API events). */
  events?: RuntimeEvents;
  /** update-v2 or POST /tasks per result (default: adaptive, see protocol.ts). */
  protocol?: ProtocolChooser;
}

export interface PollerStats {
  polls: number;
  emptyPolls: number;
  pollErrors: number;
  /** Tasks started (polled or handed back by update-v2). */
  started: number;
  /** Tasks that came from update-v2 instead of a poll. */
  chained: number;
  completed: number;
  failed: number;
  inProgress: number;
  /** Executions stopped because the server cancelled the task (or gave it to another worker): nothing was reported. */
  cancelled: number;
  inFlight: number;
  maxInFlight: number;
  /** Times the watchdog restarted this loop. */
  restarts: number;
}

export class Poller {
  readonly stats: PollerStats = {
    polls: 0,
    emptyPolls: 0,
    pollErrors: 0,
    started: 0,
    chained: 0,
    completed: 0,
    failed: 0,
    inProgress: 0,
    cancelled: 0,
    inFlight: 0,
    maxInFlight: 0,
    restarts: 0,
  };
  /** Executions running now (a list, not a Map keyed by task id: in-flight.ts says why). */
  readonly executions = new InFlight<Execution>();
  private slots = 0;
  private stopped = false;
  private stopCtl = new AbortController();
  private genCtl = new AbortController();
  private generation = 0;
  private slotWaiter?: () => void;
  private drainWaiters: Array<() => void> = [];
  /** Poll requests under way. stop() lets them finish: a task the server has handed out is ours to run. */
  private pollsInFlight = 0;
  /** Slots promised to poll requests under way (also to one a restarted loop left behind), so tasks never outnumber the slots. */
  private reserved = 0;
  /** Set by abortAll: a task that still arrives (from a poll under way) is aborted at once. */
  private abortReason?: string;
  private readonly backoff: Backoff;
  /** When the current loop step must be over by (watchdog); Infinity while waiting for a slot. */
  private stepDeadline = Number.POSITIVE_INFINITY;
  private lastError?: string;
  /** Aborted by update() so a sleep after an empty poll ends early under new settings. */
  private wakeCtl = new AbortController();
  /** Paused: no new polls (in-flight tasks go on), until resumed. */
  private pausedFlag = false;

  readonly protocol: ProtocolChooser;

  constructor(private readonly opts: PollerOptions) {
    this.protocol = opts.protocol ?? ProtocolChooser.fromEnv();
    this.backoff = new Backoff(opts.backoff);
  }

  get settings(): WorkerSettings {
    return this.opts.settings;
  }

  get name(): string {
    return this.opts.settings.name;
  }

  get inFlight(): number {
    return this.slots;
  }

  /** True while the loop runs and takes new tasks (not stopped, not paused). */
  get polling(): boolean {
    return !this.stopped && !this.pausedFlag;
  }

  /**
   * Change polling settings while running (the programmatic API's updatePollingOptions).
   * More concurrency: the loop wakes and polls for the new free slots at once. Less: running
   * tasks finish, and a slot above the limit is given up after its result (update-v2 is not
   * asked for a next task), so no task in hand is lost. `paused` stops new polls only.
   */
  update(patch: Partial<Pick<WorkerSettings, "concurrency" | "pollIntervalMs" | "pollTimeoutMs">> & { paused?: boolean }): void {
    const { paused, ...rest } = patch;
    Object.assign(this.opts.settings, rest);
    if (paused !== undefined) this.pausedFlag = paused;
    this.wakeCtl.abort();
    this.wakeCtl = new AbortController();
    this.slotWaiter?.();
  }

  start(): void {
    void this.loop(this.generation, this.genCtl.signal);
  }

  /**
   * Stop polling; in-flight tasks go on. A poll request under way is not cancelled: the server
   * may already have handed its tasks to us, and cancelling would leave them IN_PROGRESS until
   * their response timeout. Whatever it brings is run like any in-flight task.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopCtl.abort();
    this.slotWaiter?.();
  }

  /** Resolves when no task of this worker is in flight and no poll request is under way. */
  drained(): Promise<void> {
    if (this.slots === 0 && this.pollsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private settle(): void {
    if (this.slots === 0 && this.pollsInFlight === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Abort every running execution (each is reported FAILED with `reason`), and any task that still arrives. */
  abortAll(reason: string): number {
    this.abortReason = reason;
    let n = 0;
    for (const ex of this.executions.values()) {
      ex.abort(reason);
      n++;
    }
    return n;
  }

  /** True when the current loop step overran its deadline (a hung step), on the monotonic clock. */
  hung(now = performance.now()): boolean {
    return !this.stopped && now > this.stepDeadline;
  }

  /** Move the current step's deadline later (the process was stopped for `ms`: that time does not count). */
  postpone(ms: number): void {
    if (Number.isFinite(this.stepDeadline)) this.stepDeadline += ms;
  }

  /**
   * Start a fresh loop (watchdog). The old loop's sleeps end, but a poll request under way is
   * not aborted: its answer may hold tasks the server has already handed to us. It ends by its
   * own timeout, and whatever it brings is run (its slots stay reserved meanwhile).
   */
  restart(): void {
    if (this.stopped) return;
    this.stats.restarts++;
    this.generation++;
    this.genCtl.abort();
    this.genCtl = new AbortController();
    this.stepDeadline = Number.POSITIVE_INFINITY;
    this.slotWaiter?.();
    this.start();
  }

  private async loop(gen: number, genSignal: AbortSignal): Promise<void> {
    const { settings, client, outage, logger, delivery } = this.opts;
    const margin = this.opts.hangMarginMs ?? HANG_MARGIN_MS;
    let longPoll = true;
    const live = () => !this.stopped && gen === this.generation;
    // Sleeps end on stop or restart; poll requests never (see stop() and restart()).
    const sleepSignal = AbortSignal.any([genSignal, this.stopCtl.signal]);
    while (live()) {
      const free = this.pausedFlag ? 0 : settings.concurrency - this.slots - this.reserved;
      if (free <= 0) {
        this.stepDeadline = Number.POSITIVE_INFINITY;
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        this.slotWaiter = undefined;
        continue;
      }
      // Too many results wait for Conductor: take no new work until the backlog shrinks.
      if (!delivery.accepting) {
        this.stepDeadline = Number.POSITIVE_INFINITY;
        await Promise.race([delivery.whenAccepting(), new Promise((resolve) => sleepSignal.addEventListener("abort", resolve, { once: true }))]);
        if (!live()) break;
      }
      const count = longPoll ? 1 : free;
      const timeoutMs = longPoll || free === 1 ? settings.pollTimeoutMs : Math.min(BUSY_POLL_TIMEOUT_MS, settings.pollTimeoutMs);
      this.stepDeadline = performance.now() + timeoutMs + margin;
      let tasks: Task[];
      this.pollsInFlight++;
      this.reserved += count;
      const pollStarted = performance.now();
      // The request's own timeout tells a stopped process from a server that does not answer (stall.ts).
      const requestTimeout = stallAwareTimeout(timeoutMs + POLL_ANSWER_MARGIN_MS, (lateMs) =>
        logger.info(
          { lateMs: Math.round(lateMs) },
          "the process was not running for a while (timers fired late): waiting for the poll's answer instead of giving up on it",
        ),
      );
      try {
        this.stats.polls++;
        tasks = await client.batchPoll(settings.name, {
          workerId: settings.workerId,
          domain: settings.domain,
          count,
          timeoutMs,
          signal: requestTimeout,
          requestTimeoutMs: 0,
        });
      } catch (err) {
        requestTimeout.clear();
        this.pollsInFlight--;
        this.reserved -= count;
        if (!live()) {
          this.slotWaiter?.(); // a restarted loop may wait for the slots this request held
          break;
        }
        this.stats.pollErrors++;
        const e = err as ConductorError;
        this.opts.events?.emit("poll", {
          worker: settings.name,
          domain: settings.domain,
          outcome: "error",
          count: 0,
          durationMs: performance.now() - pollStarted,
          error: e?.message,
        });
        if (e instanceof ConductorError && (e.transient || requestTimeout.timedOut)) outage.failed(err);
        else if (e?.message !== this.lastError) {
          logger.error({ err: e?.message, status: e?.status }, "poll failed; retrying with backoff");
        }
        this.lastError = e?.message;
        const ms = this.backoff.next();
        this.stepDeadline = performance.now() + ms + margin;
        await sleep(ms, sleepSignal);
        continue;
      }
      requestTimeout.clear();
      this.pollsInFlight--;
      this.reserved -= count;
      if (!live()) this.slotWaiter?.();
      this.protocol.onPoll(count, tasks.length);
      this.opts.events?.emit("poll", {
        worker: settings.name,
        domain: settings.domain,
        outcome: tasks.length ? "tasks" : "empty",
        count: tasks.length,
        durationMs: performance.now() - pollStarted,
      });
      outage.ok();
      this.backoff.reset();
      this.lastError = undefined;
      // Tasks handed to us are ours even if the watchdog gave up on this loop: run them. Then let
      // go of the batch: this frame lives on through the wait for a free slot and the next poll
      // (a variable of the loop's body keeps its value into the next turn until assigned again),
      // and the batch held there kept every task of it, inputs and all, until that poll's answer.
      const got = this.runAll(tasks);
      tasks = NO_TASKS;
      if (!live()) break;
      if (got === 0) {
        this.stats.emptyPolls++;
        if (longPoll) {
          this.stepDeadline = performance.now() + settings.pollIntervalMs + margin;
          await sleep(settings.pollIntervalMs, AbortSignal.any([sleepSignal, this.wakeCtl.signal]));
        }
        longPoll = true;
      } else longPoll = false;
    }
    this.stepDeadline = Number.POSITIVE_INFINITY;
    this.settle();
  }

  /** Starts a slot for each task of a poll's answer; how many there were. */
  private runAll(tasks: Task[]): number {
    for (const t of tasks) void this.run(t);
    return tasks.length;
  }

  /**
   * Runs a task in a slot, then any next task update-v2 hands back in the same slot. While its
   * result waits for Conductor's answer (a loaded server's whole round trip), this frame holds the
   * result and nothing of the task: the parsed task, its execution and its context belong to
   * `runToResult`, which has returned by then. Held here, a task with a large input stayed in memory
   * until that answer (docs/performance.md, "What the poller held while a result waited").
   */
  private async run(first: Task | undefined): Promise<void> {
    const { settings, delivery } = this.opts;
    this.slots++;
    this.stats.inFlight = this.slots;
    if (this.slots > this.stats.maxInFlight) this.stats.maxInFlight = this.slots;
    // Only `let`s assigned again before each wait: a variable keeps its value in this frame
    // until then, even once out of use (a parameter too).
    let task: Task | undefined = first;
    first = undefined;
    let result: TaskResult | undefined;
    let chained = false;
    try {
      while (task) {
        result = await this.runToResult(task, chained);
        task = undefined;
        if (!result) break; // cancelled on the server: nothing to report
        // update-v2 after IN_PROGRESS hands the same task straight back, ignoring the callback: ask for no next task then.
        // A slot above a lowered concurrency (or a paused worker) takes no next task either.
        // While the queue is deep, results go by POST /tasks and the poller batch-polls (protocol.ts).
        const wantNext =
          !this.stopped && !this.pausedFlag && result.status !== "IN_PROGRESS" && this.slots <= settings.concurrency && this.protocol.choose() === "update-v2";
        task = await delivery.deliver(result, wantNext, settings.name);
        result = undefined;
        chained = task !== undefined;
        if (chained) this.stats.chained++;
        if (wantNext) this.protocol.onChained(chained, settings.concurrency);
      }
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, "internal error while running a task");
    } finally {
      this.slots--;
      this.stats.inFlight = this.slots;
      this.slotWaiter?.();
      this.settle();
    }
  }

  /** Runs one task to its result (undefined: the server cancelled it, nothing is reported), counted and logged. */
  private runToResult(task: Task, chained: boolean): Promise<TaskResult | undefined> {
    const { reg, settings, client, logger, events } = this.opts;
    this.stats.started++;
    const startedAt = performance.now();
    // Event objects are built only when someone listens (metrics, health, the API).
    if (events?.wants("task:started"))
      events.emit("task:started", {
        worker: settings.name,
        domain: settings.domain,
        taskId: task.taskId,
        workflowId: task.workflowInstanceId,
        chained,
        queueWaitMs: typeof task.scheduledTime === "number" && task.scheduledTime > 0 ? Math.max(0, Date.now() - task.scheduledTime) : undefined,
        inFlight: this.slots,
        concurrency: settings.concurrency,
      });
    const tlog = new TaskLog(logger, task.taskId, task.workflowInstanceId);
    if (logger.isLevelEnabled("debug")) tlog.debug({ pollCount: task.pollCount, retryCount: task.retryCount }, "task started");
    const ex = execute(reg, task, {
      client,
      workerId: settings.workerId,
      logger: tlog,
      execTimeoutSeconds: settings.execTimeoutSeconds,
      leaseExtend: settings.leaseExtend,
      invoke: this.opts.invoke,
    });
    const running = this.executions.add(ex);
    if (this.abortReason) ex.abort(this.abortReason);
    return ex.result.then((result) => {
      this.executions.remove(running);
      if (events?.wants("task:finished"))
        events.emit("task:finished", {
          worker: settings.name,
          domain: settings.domain,
          taskId: task.taskId,
          workflowId: task.workflowInstanceId,
          status: result.status,
          timedOut: ex.timedOut,
          cancelled: ex.cancelled,
          durationMs: performance.now() - startedAt,
          reason: result.reasonForIncompletion,
          inFlight: this.slots,
          concurrency: settings.concurrency,
        });
      if (ex.cancelled) {
        this.stats.cancelled++;
        tlog.info("task stopped: the server cancelled it or gave it to another worker; nothing is reported");
        return undefined;
      }
      if (result.status === "COMPLETED") {
        this.stats.completed++;
        tlog.debug("task completed");
      } else if (result.status === "IN_PROGRESS") {
        this.stats.inProgress++;
        if (logger.isLevelEnabled("debug")) tlog.debug({ callbackAfterSeconds: result.callbackAfterSeconds }, "task in progress");
      } else {
        this.stats.failed++;
        tlog.warn({ status: result.status, reason: result.reasonForIncompletion }, `task failed: ${result.reasonForIncompletion ?? result.status}`);
      }
      return result;
    });
  }
}
