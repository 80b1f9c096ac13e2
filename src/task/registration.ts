import type { TaskFunction } from "./context.ts";
import type { WorkerTaskOptions } from "./options.ts";

/** One worker as discovery hands it to the rest of idflow. */
export interface Registration {
  /** The task type (options.name). */
  name: string;
  /** The domain it polls in, if any (after env overrides). */
  domain?: string;
  /** The options as written in the decorator, merged with CONDUCTOR_WORKER_* overrides. */
  options: WorkerTaskOptions;
  /** The function to run; class methods are already bound to their instance. */
  fn: TaskFunction;
  /** Absolute path of the module that registered it. */
  sourceFile: string;
  /** How it was declared, for messages: "Class.method", "Class.staticMethod" or the function name. */
  symbol?: string;
  /** Which options came from CONDUCTOR_WORKER_* variables: option name -> variable name. */
  envOverrides?: Record<string, string>;
  /** `file:line` of the workerTask(...) call, best effort. */
  callSite?: string;
  /** Set for an executable task (a program run per task or kept running; see src/exec/). */
  exec?: { command: string; args: string[]; cwd: string; mode: "process" | "lines" };
  /** Called once when the runtime stops, after the last task: release what the worker holds (processes). */
  dispose?: () => Promise<void>;
}

/** A task folder that could not be loaded, and why. */
export interface LoadError {
  /** The folder (absolute). */
  folder: string;
  /** The file at fault (absolute) if known. */
  file?: string;
  /** One-paragraph explanation with what to do. */
  message: string;
}

export interface DiscoveryResult {
  registrations: Registration[];
  errors: LoadError[];
}
