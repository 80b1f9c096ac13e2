/**
 * Discovery: scan `tasks/*`, import each task module with tsx (one at a time, so the registry
 * knows which file declared what) or read its task.json (an executable task), bind class methods, validate options, merge
 * CONDUCTOR_WORKER_* overrides and build the name+domain registry. A broken folder becomes a
 * LoadError naming its file and the cause; the other folders still load.
 */
import path from "node:path";
import type { Logger } from "pino";
import { execRegistration } from "../exec/exec-registration.ts";
import { loadManifest } from "../exec/manifest.ts";
import { declarationsOf, instanceOf, Registry, withCurrentFile, type Declaration } from "../task/registry.ts";
import type { DiscoveryResult, LoadError, Registration } from "../task/registration.ts";
import type { TaskFunction } from "../task/context.ts";
import { getWorkerTaskOptions } from "../task/worker-task.ts";
import { validateOptions } from "../task/validate-options.ts";
import type { WorkerTaskOptions } from "../task/options.ts";
import { fileWorkerOptions, type FileWorkerOptions } from "../config.ts";
import { applyEnvOverrides } from "./env-overrides.ts";
import { applyFileOverrides } from "./file-overrides.ts";
import { findTsconfig, moduleImporter } from "./loader.ts";
import { scanTaskFolders } from "./scan.ts";
import { checkTaskDependencies } from "./task-dependencies.ts";
import { describeImportError } from "./import-error.ts";

export interface DiscoverOptions {
  /** The project root holding tasks/. */
  root: string;
  /** Where CONDUCTOR_WORKER_* overrides are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The tsconfig.json task files compile with; default: the nearest one at or above root; false: none. */
  tsconfig?: string | false;
  /** Worker options per task or "*" (default: idflow.config.json's "workers" under root). */
  workers?: Record<string, FileWorkerOptions>;
  /** Only these task folders (absolute paths); default: every folder under tasks/. */
  folders?: string[];
  /** Where executable tasks log what is not a task's (a persistent process writing between tasks). */
  logger?: Logger;
}

/** Discover every worker under `<root>/tasks`. Never throws for a broken task folder. */
export async function discover(opts: DiscoverOptions): Promise<DiscoveryResult> {
  const root = path.resolve(opts.root);
  const env = opts.env ?? process.env;
  const rel = (p: string) => path.relative(root, p) || p;
  const importer = moduleImporter(opts.tsconfig ?? findTsconfig(root));
  const registry = new Registry();
  const errors: LoadError[] = [];
  const fileWorkers = opts.workers ?? fileWorkerOptions(root);
  const only = opts.folders?.map((f) => path.resolve(f));

  /**
   * Options as written → checked, merged with CONDUCTOR_WORKER_* overrides → a registration in
   * the registry (a duplicate name+domain is an error naming both files). The same path for
   * TypeScript workers and executable tasks.
   */
  const admit = (
    folder: string,
    file: string,
    where: string,
    written: WorkerTaskOptions,
    make: (options: WorkerTaskOptions, applied: Record<string, string>) => Registration | { error: string },
  ) => {
    const problems = validateOptions(written);
    if (problems.length > 0) {
      for (const p of problems) errors.push({ folder, file, message: `${where}: ${p}` });
      return;
    }
    const fromFile = applyFileOverrides(written, fileWorkers);
    const merged = applyEnvOverrides(fromFile.options, env);
    merged.applied = { ...fromFile.applied, ...merged.applied };
    if (merged.errors.length > 0) {
      for (const p of merged.errors) errors.push({ folder, file, message: `${where}: ${p}` });
      return;
    }
    const afterEnv = validateOptions(merged.options);
    if (afterEnv.length > 0) {
      for (const p of afterEnv) errors.push({ folder, file, message: `${where} (with CONDUCTOR_WORKER_* overrides): ${p}` });
      return;
    }
    const reg = make(merged.options, merged.applied);
    if ("error" in reg) {
      errors.push({ folder, file, message: `${where}: ${reg.error}` });
      return;
    }
    const existing = registry.add(reg);
    if (existing) {
      const domain = reg.domain ? ` in domain ${JSON.stringify(reg.domain)}` : "";
      errors.push({
        folder,
        file,
        message:
          `${where} (${reg.symbol}) is a duplicate: ${JSON.stringify(reg.name)}${domain} is already registered by ` +
          `${rel(existing.sourceFile)} (${existing.symbol}). Task names must be unique per domain: rename one, or give one a domain`,
      });
    }
  };

  for (const tf of await scanTaskFolders(root)) {
    if (only && !only.includes(path.resolve(tf.folder))) continue;
    if (tf.manifest) {
      const file = tf.manifest;
      const loaded = loadManifest(file, root);
      if (!loaded.ok) {
        for (const p of loaded.problems) errors.push({ folder: tf.folder, file, message: p });
        continue;
      }
      const m = loaded.manifest;
      admit(tf.folder, file, `${rel(file)}: task ${JSON.stringify(m.options.name)}`, m.options, (options, applied) =>
        execRegistration({ options, envOverrides: applied, spec: m.spec, sourceFile: file, logger: opts.logger }),
      );
      continue;
    }
    if (!tf.module) {
      errors.push({ folder: tf.folder, message: tf.problem ?? `${rel(tf.folder)}: no task module` });
      continue;
    }
    const deps = checkTaskDependencies(root, tf.folder);
    if (deps) {
      errors.push({ folder: tf.folder, file: deps.file, message: deps.message });
      continue;
    }
    const file = tf.module;
    let exports: Record<string, unknown>;
    try {
      exports = await withCurrentFile(file, importer.scope, () => importer.load(file));
    } catch (err) {
      errors.push({ folder: tf.folder, file, message: `${rel(file)}: failed to load: ${describeImportError(err, file, root)}` });
      continue;
    }
    const declarations = declarationsOf(file, importer.scope);
    if (declarations.length === 0) {
      errors.push({
        folder: tf.folder,
        file,
        message: `${rel(file)} registered no worker: mark a function with workerTask({ name: "..." }) — a class method with @workerTask({...}), or export const fn = workerTask({...})(async (input, ctx) => ...)`,
      });
      continue;
    }
    for (const d of declarations) {
      const where = `${rel(file)}: workerTask ${typeof d.options?.name === "string" ? JSON.stringify(d.options.name) : `on ${d.symbol}`}`;
      admit(tf.folder, file, where, d.options, (options, applied) => {
        const bound = bind(d, exports);
        if ("error" in bound) return bound;
        return {
          name: options.name,
          ...(options.domain ? { domain: options.domain } : {}),
          options,
          fn: bound.fn,
          sourceFile: file,
          symbol: bound.symbol,
          ...(Object.keys(applied).length > 0 ? { envOverrides: applied } : {}),
          ...(d.callSite ? { callSite: d.callSite } : {}),
        };
      });
    }
  }
  return { registrations: registry.list(), errors };
}

type Bound = { fn: TaskFunction; symbol: string } | { error: string };

/** Turn a declaration into a callable: plain functions as they are, methods bound to their class or its one instance. */
function bind(d: Declaration, exports: Record<string, unknown>): Bound {
  if (d.kind === "function") {
    // Name a wrapped arrow function after the export that holds it.
    const exported = Object.entries(exports).find(([, v]) => v === d.method)?.[0];
    const symbol = d.method.name || (exported && exported !== "default" ? exported : d.symbol);
    return { fn: d.method, symbol };
  }
  const key = d.key as string | symbol;
  let owner = d.owner;
  if (!owner && d.kind === "instance") owner = findExportedClass(exports, key, d);
  if (!owner) {
    return {
      error:
        d.kind === "instance"
          ? `cannot find the class of instance method "${String(key)}": without experimentalDecorators the class must be exported from the task module (or make the method static)`
          : `the class of static method "${String(key)}" was never defined`,
    };
  }
  const symbol = `${owner.name || "(anonymous class)"}.${String(key)}`;
  if (d.kind === "static") {
    const current = (owner as unknown as Record<string | symbol, unknown>)[key];
    const method = (typeof current === "function" ? current : d.method) as TaskFunction;
    return { fn: method.bind(owner) as TaskFunction, symbol };
  }
  let instance: object;
  try {
    instance = instanceOf(owner);
  } catch (err) {
    return { error: `constructing ${owner.name || "the class"} with no arguments (to bind ${symbol}) threw: ${(err as Error)?.message ?? String(err)}` };
  }
  const current = (instance as Record<string | symbol, unknown>)[key];
  const method = (typeof current === "function" ? current : d.method) as TaskFunction;
  return { fn: method.bind(instance) as TaskFunction, symbol };
}

function findExportedClass(exports: Record<string, unknown>, key: string | symbol, d: Declaration): Function | undefined {
  for (const value of Object.values(exports)) {
    if (typeof value !== "function" || !value.prototype) continue;
    const proto = value.prototype as Record<string | symbol, unknown>;
    if (!Object.hasOwn(proto, key)) continue;
    const m = proto[key];
    if (m === d.method || (typeof m === "function" && getWorkerTaskOptions(m) === d.options)) return value;
  }
  return undefined;
}
