/**
 * The running task's context, reachable from anywhere inside the task's async call tree
 * (AsyncLocalStorage), e.g. from helpers that were not handed `ctx`.
 *
 * The storage lives on `globalThis` under a `Symbol.for` key, so there is exactly one per
 * process (and per worker thread) even when this module is loaded twice: the runtime's copy and
 * the copy a task file gets through `import "idflow"`, which tsx loads under its own namespace.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { TaskContext } from "../task/context.ts";

const STORAGE_KEY = Symbol.for("idflow.context.v1");
const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<TaskContext> | undefined>;

export const contextStorage: AsyncLocalStorage<TaskContext> = (g[STORAGE_KEY] ??= new AsyncLocalStorage<TaskContext>());

/** The context of the task running in this async call tree, or undefined outside a task. */
export function getCurrentContext(): TaskContext | undefined {
  return contextStorage.getStore();
}
