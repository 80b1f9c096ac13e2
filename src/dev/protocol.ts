/**
 * What `idflow dev` and its per-folder worker processes say to each other over IPC.
 * One process per task folder and generation: a fresh process is the only way to import a
 * changed module graph again (tsx and Node cache every module, helpers included).
 */
import type { WorkerTaskOptions } from "../task/options.ts";

/** How the supervisor starts a folder's process (JSON in IDFLOW_DEV_CHILD). */
export interface ChildConfig {
  root: string;
  /** The task folder (absolute). */
  folder: string;
  stateDir: string;
  serverUrl: string;
  auth?: { keyId: string; keySecret: string };
  logLevel: string;
  logFormat?: "json" | "pretty";
  shutdownGraceMs: number;
  /** Worker options by task name or "*" (idflow.config.json's "workers"). */
  workers: Record<string, Record<string, unknown>>;
}

/** A registration without its function: what the supervisor needs to upload and to validate workflows. */
export interface WorkerDescriptor {
  name: string;
  domain?: string;
  options: WorkerTaskOptions;
  sourceFile: string;
  symbol?: string;
}

export type ChildMessage =
  | { type: "loaded"; workers: WorkerDescriptor[] }
  | { type: "failed"; errors: string[] }
  | { type: "started" }
  /** After "stop": no poll of this process is under way any more (a task it still runs finishes on its code). */
  | { type: "quiet" }
  | { type: "stopped"; exitCode: number; completed: number };

export type ParentMessage = { type: "start" } | { type: "stop" } | { type: "kill" };

export const CHILD_CONFIG_ENV = "IDFLOW_DEV_CHILD";
