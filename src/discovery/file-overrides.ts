/**
 * Worker options from idflow.config.json's "workers": `workers.<task>` over `workers["*"]` over
 * the decorator. CONDUCTOR_WORKER_* variables and flags still beat them (applied after).
 */
import { PROJECT_CONFIG_FILE, type FileWorkerOptions } from "../config.ts";
import type { WorkerTaskOptions } from "../task/options.ts";

export function applyFileOverrides(
  options: WorkerTaskOptions,
  workers: Record<string, FileWorkerOptions>,
): { options: WorkerTaskOptions; applied: Record<string, string> } {
  const out: WorkerTaskOptions = { ...options };
  const applied: Record<string, string> = {};
  for (const scope of ["*", options.name]) {
    for (const [prop, value] of Object.entries(workers[scope] ?? {})) {
      (out as unknown as Record<string, unknown>)[prop] = value;
      applied[prop] = `${PROJECT_CONFIG_FILE}#/workers/${scope}/${prop}`;
    }
  }
  return { options: out, applied };
}
