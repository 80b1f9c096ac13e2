/**
 * The registry: where `workerTask` records what it decorates, and the name+domain map that
 * discovery builds from those records.
 *
 * The declaration store lives on `globalThis` under a `Symbol.for` key, so there is exactly one
 * per process even when this module is loaded twice (the CLI's own copy and the copy a task
 * file gets through `import "idflow"`, which tsx loads under its own namespace).
 */
import type { TaskFunction } from "./context.ts";
import type { WorkerTaskOptions } from "./options.ts";
import type { Registration } from "./registration.ts";

/** How a worker was declared. */
export type DeclarationKind = "function" | "static" | "instance";

/** One `workerTask(...)` application, as recorded when the decorator (or wrapper) ran. */
export interface Declaration {
  /** The options exactly as written (validated later, by discovery). */
  options: WorkerTaskOptions;
  kind: DeclarationKind;
  /** The function or the method as defined (unbound). */
  method: TaskFunction;
  /** The class, when known: experimental decorators always; TC39 static methods after class definition. */
  owner?: Function;
  /** Method name (class members only). */
  key?: string | symbol;
  /** Which decorator protocol delivered it. */
  protocol: "wrapper" | "experimental" | "tc39";
  /** For messages: "Class.method", "Class.staticMethod" or the function name. */
  symbol: string;
  /** The module being imported by discovery when this ran (absolute path), if any. */
  sourceFile?: string;
  /** `file:line` of the `workerTask(...)` call, best effort. */
  callSite?: string;
}

interface Store {
  readonly version: 1;
  /** Set by discovery around each import. */
  currentFile?: string;
  /** The loader scope of the current import (a module is evaluated once per scope). */
  currentScope?: string;
  /** Declarations per module file, kept so a module imported twice is not lost or doubled. */
  readonly byFile: Map<string, Declaration[]>;
  /** Declarations made outside discovery (unit tests calling the wrapper directly). */
  readonly loose: Declaration[];
  /** One instance per class, shared by all its decorated instance methods. */
  readonly instances: WeakMap<Function, object>;
}

const STORE_KEY = Symbol.for("idflow.registry.v1");

/** The process-wide declaration store (created on first use). */
export function declarationStore(): Store {
  const g = globalThis as unknown as Record<symbol, Store | undefined>;
  let s = g[STORE_KEY];
  if (!s) {
    s = { version: 1, byFile: new Map(), loose: [], instances: new WeakMap() };
    g[STORE_KEY] = s;
  }
  return s;
}

/** Record a declaration against the module discovery is importing (or as loose). */
export function recordDeclaration(d: Declaration): void {
  const s = declarationStore();
  if (s.currentFile) {
    d.sourceFile = s.currentFile;
    const key = fileKey(s.currentFile, s.currentScope);
    let list = s.byFile.get(key);
    if (!list) s.byFile.set(key, (list = []));
    list.push(d);
  } else {
    s.loose.push(d);
  }
}

function fileKey(file: string, scope = ""): string {
  return `${scope}\u0000${file}`;
}

/**
 * Run `load` (an import of `file` through the loader `scope`) with `file` as the module that
 * declarations are attributed to. Imports must run one at a time.
 */
export async function withCurrentFile<T>(file: string, scope: string, load: () => Promise<T>): Promise<T> {
  const s = declarationStore();
  const [previousFile, previousScope] = [s.currentFile, s.currentScope];
  s.currentFile = file;
  s.currentScope = scope;
  try {
    return await load();
  } finally {
    s.currentFile = previousFile;
    s.currentScope = previousScope;
  }
}

/**
 * The declarations `file` made when it was imported through `scope`. A module imported a
 * second time in the same scope is not evaluated again: its first declarations still count.
 */
export function declarationsOf(file: string, scope: string): Declaration[] {
  return declarationStore().byFile.get(fileKey(file, scope)) ?? [];
}

/** The one instance of `cls` that its decorated instance methods are bound to (constructed with no args). */
export function instanceOf(cls: Function): object {
  const s = declarationStore();
  let inst = s.instances.get(cls);
  if (!inst) {
    inst = new (cls as new () => object)();
    s.instances.set(cls, inst);
  }
  return inst;
}

/** The key a worker is registered under: its task name and domain. */
export function registryKey(name: string, domain?: string): string {
  return domain ? `${name}@${domain}` : name;
}

/** The name+domain map of registrations. A duplicate is refused, never overwritten. */
export class Registry {
  private readonly byKey = new Map<string, Registration>();

  /** Add `reg`; returns the registration already holding its name+domain, if any (and adds nothing). */
  add(reg: Registration): Registration | undefined {
    const key = registryKey(reg.name, reg.domain);
    const existing = this.byKey.get(key);
    if (existing) return existing;
    this.byKey.set(key, reg);
    return undefined;
  }

  get(name: string, domain?: string): Registration | undefined {
    return this.byKey.get(registryKey(name, domain));
  }

  /** All registrations, in the order they were added. */
  list(): Registration[] {
    return [...this.byKey.values()];
  }

  get size(): number {
    return this.byKey.size;
  }
}
