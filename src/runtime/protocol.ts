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
 * The queue counts as deep once a poll for two or more tasks came back full, and as shallow again
 * as soon as a poll came back short. A poll for one task says nothing either way.
 */

export type Protocol = "update-v2" | "post";

export class ProtocolChooser {
  private deep = false;
  /** Results sent each way (stats). */
  readonly sent: Record<Protocol, number> = { "update-v2": 0, post: 0 };

  constructor(private readonly adaptive = true) {}

  /** What a poll asked for and what it got. */
  onPoll(requested: number, received: number): void {
    if (!this.adaptive) return;
    if (received < requested) this.deep = false;
    else if (requested >= 2) this.deep = true;
  }

  /** The protocol for the next result that could carry a next task. */
  choose(): Protocol {
    const p: Protocol = this.deep ? "post" : "update-v2";
    this.sent[p]++;
    return p;
  }

  get queueLooksDeep(): boolean {
    return this.deep;
  }
}
