/**
 * Batches: work through a large input in slices, checkpointing after each one, so a task whose
 * worker dies resumes after the last batch it saved instead of starting over.
 *
 *   for await (const batch of ctx.batches(input.items, 50)) {
 *     await handle(batch.items);            // batch.start..batch.end-1 are the item indexes
 *   }
 *   return { ok: true };                    // the output gets `batches` (progress and metrics)
 *
 * A batch counts as done when the loop asks for the next one (or ends normally); a `break` or a
 * throw leaves the current batch undone. On resume the batches already done are skipped (an array
 * is sliced; an iterable has its first items read and dropped). Between batches `ctx.signal` is
 * honoured: an aborted task (shutdown past grace, execution timeout, a cancelled workflow) stops
 * with the signal's reason before the next batch. With `flush: true` every batch's checkpoint is
 * on the server before the next batch starts, so a crash repeats at most the batch in flight;
 * by default checkpoints are throttled (the worker's checkpointIntervalMs) and a crash repeats
 * the batches done since the last one sent.
 *
 * The progress (the checkpoint state, and `output.batches` when the task completes) records the
 * item range each attempt did, totals and the durations of the most recent batches.
 */
import type { TaskContext } from "./context.ts";
import { TerminalError } from "./errors.ts";

/** Per-batch entries kept in the progress (the oldest are dropped beyond this). */
export const RECENT_BATCHES = 100;

export interface Batch<T> {
  /** 0-based batch number, counted across attempts. */
  readonly index: number;
  /** The items of this batch. */
  readonly items: T[];
  /** Index of the first item in the whole input. */
  readonly start: number;
  /** Index after the last item (exclusive). */
  readonly end: number;
}

/** What one attempt (one execution) processed. */
export interface AttemptRange {
  taskId: string;
  retryCount: number;
  pollCount: number;
  /** First item index this attempt did. */
  from: number;
  /** Item index after the last one it did (exclusive). */
  to: number;
  batches: number;
  /** Time spent inside its batches, ms. */
  ms: number;
}

export interface BatchMetric {
  index: number;
  start: number;
  end: number;
  ms: number;
  /** Which attempt did it (index into `attempts`). */
  attempt: number;
}

/** The checkpoint state batches() saves, and what it adds to the output as `batches`. */
export interface BatchProgress {
  kind: "idflow.batches";
  size: number;
  /** Item count when the input is an array; null for an iterable. */
  total: number | null;
  /** Batches done, across attempts. */
  done: number;
  /** Items done, across attempts (= the index of the next item). */
  itemsDone: number;
  attempts: AttemptRange[];
  /** The most recent batches (at most RECENT_BATCHES). */
  recent: BatchMetric[];
  ms: { total: number; min: number | null; max: number | null; mean: number | null };
}

export interface BatchesOptions {
  /** Wait until each batch's checkpoint is on the server before the next batch (default false: throttled). */
  flush?: boolean;
}

export interface BatchRun<T> extends AsyncIterableIterator<Batch<T>> {
  /** The progress so far (a copy). */
  progress(): BatchProgress;
}

export function isBatchProgress(x: unknown): x is BatchProgress {
  return typeof x === "object" && x !== null && (x as BatchProgress).kind === "idflow.batches" && typeof (x as BatchProgress).itemsDone === "number";
}

/** Batches of `items` with checkpoints through `ctx` (what `ctx.batches(items, size)` calls). */
export function batches<T>(ctx: TaskContext, items: Iterable<T> | AsyncIterable<T>, size: number, options: BatchesOptions = {}): BatchRun<T> {
  if (!Number.isInteger(size) || size < 1) throw new TypeError(`batches: size must be a whole number >= 1, got ${String(size)}`);
  if (items === null || typeof items !== "object" || !(Symbol.iterator in items || Symbol.asyncIterator in items)) {
    throw new TypeError(`batches: items must be an array or an (async) iterable, got ${items === null ? "null" : typeof items}`);
  }
  const array = Array.isArray(items) ? (items as T[]) : undefined;
  const resume = ctx.resumeFrom;
  if (resume !== undefined && !isBatchProgress(resume)) {
    throw new TerminalError(
      "batches: the checkpoint to resume from was not written by batches(); a task that uses batches() must not call ctx.checkpoint() itself",
    );
  }
  const p: BatchProgress = resume
    ? structuredClone(resume)
    : {
        kind: "idflow.batches",
        size,
        total: array ? array.length : null,
        done: 0,
        itemsDone: 0,
        attempts: [],
        recent: [],
        ms: { total: 0, min: null, max: null, mean: null },
      };
  p.size = size;
  if (array) p.total = array.length;

  let source: Iterator<T> | AsyncIterator<T> | undefined;
  let attempt: AttemptRange | undefined;
  let current: { batch: Batch<T>; t0: number } | undefined;
  let finished = false;

  const pull = async (n: number): Promise<T[]> => {
    if (array) return array.slice(p.itemsDone, p.itemsDone + n);
    if (!source) {
      source = Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
      for (let skipped = 0; skipped < p.itemsDone; skipped++) if ((await source.next()).done) break; // done before: skip
    }
    const out: T[] = [];
    while (out.length < n) {
      const r = await source.next();
      if (r.done) break;
      out.push(r.value);
    }
    return out;
  };

  const markDone = async () => {
    if (!current || !attempt) return;
    const { batch, t0 } = current;
    current = undefined;
    const ms = Math.round((performance.now() - t0) * 1000) / 1000;
    p.done = batch.index + 1;
    p.itemsDone = batch.end;
    attempt.to = batch.end;
    attempt.batches++;
    attempt.ms += ms;
    p.recent.push({ index: batch.index, start: batch.start, end: batch.end, ms, attempt: p.attempts.length - 1 });
    if (p.recent.length > RECENT_BATCHES) p.recent.splice(0, p.recent.length - RECENT_BATCHES);
    p.ms.total += ms;
    p.ms.min = p.ms.min === null ? ms : Math.min(p.ms.min, ms);
    p.ms.max = p.ms.max === null ? ms : Math.max(p.ms.max, ms);
    p.ms.mean = p.ms.total / p.done;
    await ctx.checkpoint(p, { flush: options.flush === true });
  };

  const close = async () => {
    finished = true;
    current = undefined;
    await source?.return?.();
  };

  const run: BatchRun<T> = {
    async next(): Promise<IteratorResult<Batch<T>>> {
      if (finished) return { done: true, value: undefined };
      await markDone();
      if (ctx.signal.aborted) {
        await close();
        throw ctx.signal.reason ?? new Error("aborted");
      }
      const chunk = await pull(size);
      if (chunk.length === 0) {
        await close();
        return { done: true, value: undefined };
      }
      if (!attempt) {
        attempt = { taskId: ctx.taskId, retryCount: ctx.retryCount, pollCount: ctx.pollCount, from: p.itemsDone, to: p.itemsDone, batches: 0, ms: 0 };
        p.attempts.push(attempt);
      }
      const batch: Batch<T> = { index: p.done, items: chunk, start: p.itemsDone, end: p.itemsDone + chunk.length };
      current = { batch, t0: performance.now() };
      return { done: false, value: batch };
    },
    async return(): Promise<IteratorResult<Batch<T>>> {
      await close();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    progress: () => structuredClone(p),
  };
  return run;
}
