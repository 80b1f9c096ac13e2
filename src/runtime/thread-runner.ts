/**
 * isolation "thread": CPU-heavy task functions run in worker threads so they do not stall the
 * other workers' polling. Each thread imports the task module by its source file (with tsx) and
 * looks the function up by name. One execution per thread at a time; idle threads are reused.
 * An execution that is aborted (timeout, shutdown) terminates its thread: the work really stops.
 */
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { TaskContext } from "../task/context.ts";
import { RetryableError, TerminalError } from "../task/errors.ts";
import type { Registration } from "../task/registration.ts";
import { inProgress } from "../task/results.ts";
import type { Invoker } from "./executor.ts";

const BOOT = new URL("./thread-boot.mjs", import.meta.url);

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class ThreadPool {
  private readonly idle = new Map<string, Worker[]>();
  private readonly all = new Set<Worker>();
  private seq = 0;
  /** Threads terminated because their execution was aborted. */
  terminated = 0;

  constructor(private readonly logger: Logger) {}

  readonly invoker: Invoker = (reg, input, ctx) => this.run(reg, input, ctx);

  private key(reg: Registration): string {
    return `${reg.sourceFile}\u0000${reg.name}\u0000${reg.domain ?? ""}`;
  }

  private take(reg: Registration): Slot {
    const list = this.idle.get(this.key(reg));
    const w = list?.pop();
    if (w) return { worker: w, busy: true };
    const worker = new Worker(BOOT, { workerData: { sourceFile: reg.sourceFile, name: reg.name, domain: reg.domain } });
    worker.unref();
    this.all.add(worker);
    worker.on("exit", () => {
      this.all.delete(worker);
      // A thread can die while idle (a task's timer threw after it answered): never hand it out again.
      const list = this.idle.get(this.key(reg));
      const i = list?.indexOf(worker) ?? -1;
      if (i >= 0) list!.splice(i, 1);
    });
    worker.on("error", (err) => this.logger.error({ worker: reg.name, err: err.message }, "task thread crashed"));
    return { worker, busy: true };
  }

  private give(reg: Registration, w: Worker): void {
    const k = this.key(reg);
    let list = this.idle.get(k);
    if (!list) this.idle.set(k, (list = []));
    list.push(w);
  }

  private run(reg: Registration, input: Record<string, unknown>, ctx: TaskContext): Promise<unknown> {
    const slot = this.take(reg);
    const id = ++this.seq;
    const w = slot.worker;
    return new Promise((resolve, reject) => {
      let crash: Error | undefined;
      const cleanup = () => {
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
        ctx.signal.removeEventListener("abort", onAbort);
      };
      const onMessage = (m: {
        id: number;
        type: string;
        line?: string;
        json?: string;
        cid?: number;
        state?: unknown;
        flush?: boolean;
        inProgress?: { callbackAfterSeconds: number; output?: Record<string, unknown> };
        error?: { name: string; message: string; stack?: string; output?: Record<string, unknown> };
      }) => {
        if (m.id !== id) return;
        if (m.type === "log") return ctx.log(m.line ?? "");
        if (m.type === "heartbeat") return void ctx.heartbeat().catch(() => {});
        if (m.type === "checkpoint") {
          const ack = (error?: string) => w.postMessage({ type: "checkpointed", cid: m.cid, error });
          return void ctx.checkpoint(m.state, { flush: m.flush }).then(
            () => ack(),
            (e: Error) => ack(e?.message ?? String(e)),
          );
        }
        cleanup();
        this.give(reg, w);
        if (m.error) {
          const E = m.error.name === "TerminalError" ? TerminalError : m.error.name === "RetryableError" ? RetryableError : Error;
          const err = new E(m.error.message, { output: m.error.output } as never);
          err.stack = m.error.stack ?? err.stack;
          return reject(err);
        }
        if (m.inProgress) return resolve(inProgress(m.inProgress));
        resolve(m.json === undefined ? undefined : JSON.parse(m.json));
      };
      // An uncaught exception in the thread (a throw in a timer, an unhandled rejection) ends it: say why.
      const onError = (err: Error) => (crash = err);
      const onExit = (code: number) => {
        cleanup();
        const err = new Error(`the task thread exited (code ${code}) before it answered${crash ? `: ${crash.message}` : ""}`);
        if (crash?.stack) err.stack = crash.stack;
        reject(err);
      };
      const onAbort = () => {
        cleanup();
        this.terminated++;
        void w.terminate();
        reject(new Error("aborted: task thread terminated"));
      };
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const { signal: _s, log: _l, heartbeat: _h, checkpoint: _c, batches: _b, ...plain } = ctx;
      w.postMessage({ id, input, ctx: plain });
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.all].map((w) => w.terminate()));
    this.idle.clear();
  }
}
