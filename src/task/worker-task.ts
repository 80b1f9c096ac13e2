/**
 * `workerTask(options)`: marks a function as the worker for a Conductor task type.
 *
 * One factory, three shapes, told apart by their arguments:
 *   - wrapper:               workerTask(opts)(async (input, ctx) => ...)    -> the same function
 *   - experimentalDecorators: (target, key, descriptor) on a static or instance method
 *   - TC39 decorators:        (value, context) with context.kind === "method"
 * Options are recorded as written (and as reflect-metadata on the function); discovery
 * validates them, applies CONDUCTOR_WORKER_* overrides and binds instance methods.
 */
import "reflect-metadata";
import type { TaskFunction } from "./context.ts";
import type { WorkerTaskOptions } from "./options.ts";
import { recordDeclaration, type Declaration } from "./registry.ts";

/** The reflect-metadata key under which the options are kept on the decorated function/method. */
export const WORKER_TASK_METADATA = "idflow:workerTask";

/** What `workerTask(options)` returns: a wrapper for functions and a method decorator in both modes. */
export interface WorkerTaskDecorator {
  /** Wrap a plain function; returns it unchanged (still callable directly, e.g. in unit tests). */
  <F extends TaskFunction>(fn: F): F;
  /** experimentalDecorators: a static or instance method. */
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): void;
  /** TC39 standard decorators: a static or instance method. */
  // biome-ignore lint/suspicious/noExplicitAny: a TC39 method decorator must accept a method of any signature
  (value: (...args: any[]) => any, context: ClassMethodDecoratorContext): void;
}

/** The options `workerTask` recorded for a function or method, if any. */
export function getWorkerTaskOptions(target: object, propertyKey?: string | symbol): WorkerTaskOptions | undefined {
  return propertyKey === undefined
    ? (Reflect.getMetadata(WORKER_TASK_METADATA, target) as WorkerTaskOptions | undefined)
    : (Reflect.getMetadata(WORKER_TASK_METADATA, target, propertyKey) as WorkerTaskOptions | undefined);
}

function callSite(): string | undefined {
  const stack = new Error().stack?.split("\n") ?? [];
  // [0] "Error", [1] callSite, [2] the decorator function, [3] the caller (class body / module)
  for (const line of stack.slice(3, 8)) {
    const m = /(?:\(|\s)((?:file:\/\/)?\/[^():]+?)(?:\?[^:)]*)?:(\d+):\d+\)?\s*$/.exec(line);
    if (m && !m[1].includes("/node_modules/") && !/\/src\/task\/worker-task\.[jt]s$/.test(m[1])) {
      return `${m[1].replace(/^file:\/\//, "")}:${m[2]}`;
    }
  }
  return undefined;
}

function describeTarget(a: unknown): string {
  if (typeof a === "function") return `function ${a.name || "(anonymous)"}`;
  if (a && typeof a === "object") {
    const kind = (a as { kind?: unknown }).kind;
    return kind ? `a ${String(kind)}` : "an object";
  }
  return typeof a;
}

/**
 * Mark a function or class method as the worker for task type `options.name`.
 * @example
 *   export const greet = workerTask({ name: "greet" })(async (input: { who: string }) => ({ hello: input.who }));
 *   class Texts { @workerTask({ name: "count_words" }) async count(input: { text: string }) { ... } }
 */
export function workerTask(options: WorkerTaskOptions): WorkerTaskDecorator {
  const site = callSite();
  const label = typeof options?.name === "string" ? `workerTask "${options.name}"` : "workerTask";

  function decorate(a: unknown, b?: unknown, c?: unknown): unknown {
    // Wrapper: workerTask(opts)(fn)
    if (b === undefined && c === undefined && typeof a === "function") {
      const fn = a as TaskFunction;
      Reflect.defineMetadata(WORKER_TASK_METADATA, options, fn);
      recordDeclaration({ options, kind: "function", method: fn, protocol: "wrapper", symbol: fn.name || "(anonymous function)", callSite: site });
      return fn;
    }
    // TC39: (value, context)
    if (c === undefined && b && typeof b === "object" && "kind" in b) {
      const ctx = b as ClassMethodDecoratorContext;
      if (ctx.kind !== "method" || typeof a !== "function") {
        throw new TypeError(
          `${label}: decorate a class method or wrap a function; it was put on ${describeTarget(b)} "${String((ctx as { name?: unknown }).name)}"`,
        );
      }
      if (ctx.private) {
        throw new TypeError(`${label}: the method #${String(ctx.name).replace(/^#/, "")} is private; make it a normal (public) method`);
      }
      const method = a as TaskFunction;
      Reflect.defineMetadata(WORKER_TASK_METADATA, options, method);
      const d: Declaration = {
        options,
        kind: ctx.static ? "static" : "instance",
        method,
        key: ctx.name,
        protocol: "tc39",
        symbol: String(ctx.name),
        callSite: site,
      };
      if (ctx.static) {
        ctx.addInitializer(function (this: unknown) {
          d.owner = this as Function;
          d.symbol = `${(this as Function).name}.${String(ctx.name)}`;
        });
      }
      recordDeclaration(d);
      return undefined;
    }
    // experimentalDecorators: (target, key, descriptor)
    if ((typeof a === "object" || typeof a === "function") && a !== null && (typeof b === "string" || typeof b === "symbol")) {
      const descriptor = c as PropertyDescriptor | undefined;
      if (!descriptor || typeof descriptor.value !== "function") {
        throw new TypeError(`${label}: decorate a class method or wrap a function; "${String(b)}" is not a method`);
      }
      const isStatic = typeof a === "function";
      const owner = (isStatic ? a : (a as { constructor: Function }).constructor) as Function;
      const method = descriptor.value as TaskFunction;
      Reflect.defineMetadata(WORKER_TASK_METADATA, options, a as object, b);
      Reflect.defineMetadata(WORKER_TASK_METADATA, options, method);
      recordDeclaration({
        options,
        kind: isStatic ? "static" : "instance",
        method,
        owner,
        key: b,
        protocol: "experimental",
        symbol: `${owner.name}.${String(b)}`,
        callSite: site,
      });
      return undefined;
    }
    throw new TypeError(`${label}: decorate a class method or wrap a function, not ${describeTarget(a)}`);
  }

  return decorate as WorkerTaskDecorator;
}
