/**
 * The running task's context, reachable from anywhere inside the task's async call tree
 * (AsyncLocalStorage), e.g. from helpers that were not handed `ctx`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { TaskContext } from "../task/context.ts";

export const contextStorage = new AsyncLocalStorage<TaskContext>();

/** The context of the task running in this async call tree, or undefined outside a task. */
export function getCurrentContext(): TaskContext | undefined {
  return contextStorage.getStore();
}
