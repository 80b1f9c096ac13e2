/**
 * Which way a finished task's result travels, chosen by what the polls show about the queue:
 *
 * - shallow queue: update-v2. Its answer carries the slot's next task, so a slot needs one
 *   request per task, and a task that arrives while the server holds the call is picked up at once.
 * - deep queue: POST /tasks, and the poller batch-polls for the free slots. update-v2 makes the
 *   server run a whole single-task poll inside every update (a queue pop, a poll-data write and a
 *   second ack per task: TaskResource.updateTaskV2 → ExecutionService.getLastPollTask), while a
 *   batch poll pays the pop and the poll-data write once for the whole batch.
 *
 * Batching only pays when batches are large: on 3.21.14 with SQLite the server spent 3.2 ms of CPU
 * per task for batch polls + POST at concurrency 50 against 4.2 ms for update-v2, but 5.4 against
 * 4.3 at concurrency 10, where the polls bring few tasks each (bench/peers, docs/performance.md).
 * So the queue counts as deep once a poll for at least MIN_POST_BATCH tasks came back full, and as
 * shallow again as soon as any poll came back short; smaller full polls change nothing.
 *
 * A short poll does not always mean a shallow queue: Conductor's SQLite queue answers a pop that
 * meets a locked database with nothing (SqliteQueueDAO.pollMessages; "database is locked" in the
 * server log under load). While update-v2 chains, a worker whose slots are all busy does not poll
 * at all, so one such answer would keep it on update-v2 through the rest of a deep queue. The
 * chained answers tell too: once `concurrency` (at least MIN_POST_BATCH) update-v2 answers in a
 * row each brought a next task, the queue counts as deep again.
 *
 * IDFLOW_RESULT_PROTOCOL=update-v2 or =post pins one protocol (for benchmarks and comparisons);
 * unset or "adaptive" is the default described above.
 */

export type Protocol = "update-v2" | "post";
/** The smallest full poll that switches results to POST /tasks (between the measured 10 and 50). */
export const MIN_POST_BATCH = 16;
export type ProtocolMode = "adaptive" | Protocol;
const MODES: ProtocolMode[] = ["adaptive", "update-v2", "post"];

export class ProtocolChooser {
  private deep = false;
  /** update-v2 answers in a row that brought a next task (while the queue counts as shallow). */
  private chainedRun = 0;
  /** Results sent each way (stats). */
  readonly sent: Record<Protocol, number> = { "update-v2": 0, post: 0 };

  constructor(readonly mode: ProtocolMode = "adaptive") {}

  /** The mode IDFLOW_RESULT_PROTOCOL asks for (default adaptive). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): ProtocolChooser {
    const v = env.IDFLOW_RESULT_PROTOCOL?.trim();
    if (!v) return new ProtocolChooser();
    if (!MODES.includes(v as ProtocolMode)) {
      throw new Error(`IDFLOW_RESULT_PROTOCOL=${JSON.stringify(v)} is not one of ${MODES.join(", ")}: unset it or pick one of those`);
    }
    return new ProtocolChooser(v as ProtocolMode);
  }

  /** What a poll asked for and what it got. */
  onPoll(requested: number, received: number): void {
    if (received < requested) this.deep = false;
    else if (requested >= MIN_POST_BATCH) this.deep = true;
    this.chainedRun = 0;
  }

  /** What an update-v2 answer brought back, from a worker of `concurrency` slots. */
  onChained(broughtTask: boolean, concurrency: number): void {
    if (!broughtTask) {
      this.chainedRun = 0;
      return;
    }
    if (this.deep || concurrency < MIN_POST_BATCH) return;
    if (++this.chainedRun >= concurrency) {
      this.deep = true;
      this.chainedRun = 0;
    }
  }

  /** The protocol for the next result that could carry a next task. */
  choose(): Protocol {
    const p: Protocol = this.mode !== "adaptive" ? this.mode : this.deep ? "post" : "update-v2";
    this.sent[p]++;
    return p;
  }

  get queueLooksDeep(): boolean {
    return this.deep;
  }
}
