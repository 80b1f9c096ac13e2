/**
 * The workflow mender: finds running workflows that have nothing left to run and are no longer
 * being decided (every task finished, or only decider-driven tasks such as JOIN or DO_WHILE
 * open, for a few seconds), and asks the server to decide them (`PUT /workflow/decide/{id}`),
 * which is what the lost decide would have done.
 *
 * Why: on Conductor 3.21.14 with SQLite a workflow can stay RUNNING for good with every task
 * COMPLETED. Under a burst, a workflow start's decide can write the workflow back after the
 * task's update completed it (no execution lock: the only lock this server can use breaks under
 * load), and the decider queue gives each workflow one sweep at most
 * (docs/conductor-behaviour.md, "The sweeper and workflows left RUNNING"). Measured: 20 of 2,000
 * workflows started while a worker completed them. No server property fixes it.
 *
 * It reads the server's own pending set (`GET /workflow/running/{name}`), never the search index:
 * after such a stale write the index says COMPLETED while the workflow is RUNNING.
 * The cost is bounded: a few list calls and at most `checksPerTick` workflow reads a tick, and a
 * workflow that waits on a worker is looked at again after a quarter of its age (every 3 s while
 * it is young, up to once a minute).
 */
import type { ConductorClient } from "../conductor/client.ts";
import type { Task, Workflow } from "../conductor/types.ts";

export interface MenderOptions {
  /** How long a workflow must have had nothing to run before it is decided, ms (default 3000). */
  settleMs?: number;
  /** Most workflows read per tick (default 25). */
  checksPerTick?: number;
  /** Names without running workflows polled per tick, in turn (default 20). */
  idleNamesPerTick?: number;
  /** How often the list of workflow names is read again, ms (default 10 s). */
  namesRefreshMs?: number;
  /** Longest wait between two looks at a workflow that waits on a worker, ms (default 60 s; the wait is a quarter of its age). */
  maxBackoffMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export interface TickReport {
  /** Workflows read this tick. */
  checked: number;
  /** Workflows decided this tick. */
  mended: string[];
  /** Running workflows being watched. */
  watching: number;
}

/** Task types whose progress comes from a decide, not from a worker or an event. */
const DECIDER_DRIVEN = new Set([
  "JOIN",
  "EXCLUSIVE_JOIN",
  "DO_WHILE",
  "FORK",
  "FORK_JOIN",
  "FORK_JOIN_DYNAMIC",
  "DECISION",
  "SWITCH",
  "SET_VARIABLE",
  "TERMINATE",
  "INLINE",
  "LAMBDA",
  "JSON_JQ_TRANSFORM",
]);

const OPEN = new Set(["SCHEDULED", "IN_PROGRESS"]);

/**
 * When a RUNNING workflow last moved, if nothing in it waits on a worker, an event or a timer:
 * only then can a decide be what it lacks. undefined when some task is still out there.
 */
export function idleSince(workflow: Workflow): number | undefined {
  if (workflow.status !== "RUNNING") return undefined;
  let last = Number(workflow.updateTime ?? 0) || Number(workflow.startTime ?? 0) || 0;
  for (const t of workflow.tasks ?? []) {
    if (OPEN.has(String(t.status)) && !DECIDER_DRIVEN.has(t.taskType)) return undefined;
    last = Math.max(last, moment(t));
  }
  return last;
}

function moment(t: Task): number {
  return Math.max(Number(t.endTime ?? 0), Number(t.updateTime ?? 0), Number(t.startTime ?? 0), Number(t.scheduledTime ?? 0));
}

interface Watched {
  name: string;
  /** When to read it next (ms). */
  due: number;
  /** When the mender first saw it running (ms): its age when the server does not say when it started. */
  seen: number;
}

export class WorkflowMender {
  private readonly settleMs: number;
  private readonly checksPerTick: number;
  private readonly idleNamesPerTick: number;
  private readonly namesRefreshMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private names: string[] = [];
  private namesReadAt = Number.NEGATIVE_INFINITY;
  private nextIdleName = 0;
  private readonly watched = new Map<string, Watched>();
  /** Names that had running workflows at their last look: polled every tick. */
  private readonly busyNames = new Set<string>();

  constructor(
    private readonly client: ConductorClient,
    options: MenderOptions = {},
  ) {
    this.settleMs = options.settleMs ?? 3000;
    this.checksPerTick = options.checksPerTick ?? 25;
    this.idleNamesPerTick = options.idleNamesPerTick ?? 20;
    this.namesRefreshMs = options.namesRefreshMs ?? 10_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  /** One round: look at the names due, read the workflows due, decide the ones left idle. */
  async tick(): Promise<TickReport> {
    const now = this.now();
    if (now - this.namesReadAt >= this.namesRefreshMs) {
      this.names = await this.client.workflowNames();
      this.namesReadAt = now;
    }
    await this.pollNames(now);
    const due = [...this.watched.entries()]
      .filter(([, w]) => w.due <= now)
      .sort((a, b) => a[1].due - b[1].due)
      .slice(0, this.checksPerTick);
    const mended: string[] = [];
    await inBatches(due, 4, async ([id, w]) => {
      if (await this.check(id, w)) mended.push(id);
    });
    return { checked: due.length, mended, watching: this.watched.size };
  }

  private async pollNames(now: number): Promise<void> {
    const idle = this.names.filter((n) => !this.busyNames.has(n));
    const take: string[] = [...this.busyNames];
    for (let i = 0; i < Math.min(this.idleNamesPerTick, idle.length); i++) take.push(idle[(this.nextIdleName + i) % idle.length]!);
    this.nextIdleName = idle.length ? (this.nextIdleName + this.idleNamesPerTick) % idle.length : 0;
    await inBatches(take, 4, async (name) => {
      let ids: string[];
      try {
        ids = await this.client.runningWorkflowIds(name);
      } catch {
        return; // a name deleted meanwhile, or a busy server: next tick
      }
      const running = new Set(ids);
      for (const [id, w] of this.watched) if (w.name === name && !running.has(id)) this.watched.delete(id);
      for (const id of ids) if (!this.watched.has(id)) this.watched.set(id, { name, due: now + this.settleMs, seen: now });
      if (ids.length) this.busyNames.add(name);
      else this.busyNames.delete(name);
    });
  }

  /** Read one workflow; decide it when it has been idle long enough. True when it was decided. */
  private async check(id: string, w: Watched): Promise<boolean> {
    let workflow: Workflow;
    try {
      workflow = await this.client.getWorkflow(id, true);
    } catch {
      w.due = this.now() + 5000;
      return false;
    }
    if (workflow.status !== "RUNNING") {
      this.watched.delete(id);
      return false;
    }
    const since = idleSince(workflow);
    const now = this.now();
    if (since === undefined) {
      // Busy (a task out with a worker): look again after a quarter of its age, between settleMs
      // and maxBackoffMs. A young workflow, whose task may finish any moment, is read every few
      // seconds; one that has waited for an hour, once a minute.
      const age = now - (Number(workflow.startTime) || w.seen);
      w.due = now + Math.min(this.maxBackoffMs, Math.max(this.settleMs, age / 4));
      return false;
    }
    if (now - since < this.settleMs) {
      w.due = since + this.settleMs;
      return false;
    }
    try {
      await this.client.decideWorkflow(id);
    } catch (err) {
      this.log(`could not decide workflow ${id} (${w.name}): ${(err as Error).message}`);
      w.due = now + 5000;
      return false;
    }
    this.log(`decided workflow ${id} (${w.name}): RUNNING with nothing left to run for ${Math.round((now - since) / 1000)} s`);
    w.due = now + this.settleMs;
    return true;
  }
}

async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}
