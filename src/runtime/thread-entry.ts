/**
 * Inside a worker thread (isolation "thread"): re-import the task module by its source file,
 * find the registration by name (and domain), and run executions the main thread sends.
 */
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { findTsconfig, moduleImporter } from "../discovery/loader.ts";
import type { TaskContext, TaskFunction } from "../task/context.ts";
import { declarationsOf, instanceOf, withCurrentFile } from "../task/registry.ts";
import { isInProgress } from "../task/results.ts";
import { batches } from "../task/batches.ts";
import { contextStorage } from "./context.ts";

const { sourceFile, name, domain, tsconfig } = workerData as { sourceFile: string; name: string; domain?: string; tsconfig?: string | false };

async function resolveFn(): Promise<TaskFunction> {
  const importer = moduleImporter(tsconfig ?? findTsconfig(path.dirname(sourceFile)));
  const exports = await withCurrentFile(sourceFile, importer.scope, () => importer.load(sourceFile));
  const decls = declarationsOf(sourceFile, importer.scope).filter((d) => d.options?.name === name);
  const d = decls.find((x) => (x.options.domain ?? undefined) === domain) ?? decls[0];
  if (!d) throw new Error(`${sourceFile} declares no worker named ${name} when imported in a thread`);
  if (d.kind === "function") return d.method;
  let owner = d.owner;
  if (!owner && d.key !== undefined) {
    owner = Object.values(exports).find(
      (v): v is Function =>
        typeof v === "function" &&
        (d.kind === "static" ? (v as unknown as Record<string | symbol, unknown>)[d.key!] === d.method : v.prototype?.[d.key!] === d.method),
    );
  }
  if (!owner) throw new Error(`cannot find the class of ${d.symbol} in ${sourceFile} inside a thread: export the class`);
  return d.method.bind(d.kind === "static" ? owner : instanceOf(owner));
}

const fnPromise = resolveFn();
fnPromise.catch(() => {});

// ctx.checkpoint in a thread: the main thread sends it and answers when done (flush waits for that).
const checkpointAcks = new Map<number, { resolve(): void; reject(err: Error): void }>();
let checkpointSeq = 0;

parentPort!.on(
  "message",
  async (
    msg:
      | { id: number; input: Record<string, unknown>; ctx: Omit<TaskContext, "signal" | "log" | "heartbeat" | "checkpoint" | "batches"> }
      | { type: "checkpointed"; cid: number; error?: string },
  ) => {
    if ("type" in msg) {
      const ack = checkpointAcks.get(msg.cid);
      checkpointAcks.delete(msg.cid);
      if (msg.error) ack?.reject(new Error(msg.error));
      else ack?.resolve();
      return;
    }
    const post = (m: unknown) => parentPort!.postMessage(m);
    try {
      const fn = await fnPromise;
      const controller = new AbortController();
      const ctx: TaskContext = {
        ...msg.ctx,
        signal: controller.signal,
        log: (line: string) => post({ id: msg.id, type: "log", line: String(line) }),
        heartbeat: async () => post({ id: msg.id, type: "heartbeat" }),
        checkpoint: (state, o) =>
          new Promise<void>((resolve, reject) => {
            const cid = ++checkpointSeq;
            checkpointAcks.set(cid, { resolve, reject });
            post({ id: msg.id, type: "checkpoint", cid, state: JSON.parse(JSON.stringify(state) ?? "null"), flush: o?.flush });
          }),
        batches: (items, size, o) => batches(ctx, items, size, o),
      };
      const value = await contextStorage.run(ctx, () => Promise.resolve().then(() => fn(msg.input, ctx)));
      if (isInProgress(value)) post({ id: msg.id, type: "done", inProgress: { callbackAfterSeconds: value.callbackAfterSeconds, output: value.output } });
      else {
        let text: string | undefined;
        try {
          text = JSON.stringify(value);
        } catch (err) {
          post({ id: msg.id, type: "done", error: { name: "Error", message: `task output cannot be serialised to JSON: ${(err as Error).message}` } });
          return;
        }
        // As in-process (executor.ts serialise): a value JSON cannot carry at all (a function, a symbol) fails.
        if (text === undefined && value !== undefined) {
          post({ id: msg.id, type: "done", error: { name: "Error", message: `task output cannot be serialised to JSON: a ${typeof value} is not JSON` } });
          return;
        }
        post({ id: msg.id, type: "done", json: text });
      }
    } catch (err) {
      const e = err as { name?: string; message?: string; stack?: string; output?: unknown };
      let output: unknown;
      try {
        output = e?.output === undefined ? undefined : JSON.parse(JSON.stringify(e.output));
      } catch {
        output = undefined;
      }
      post({ id: msg.id, type: "done", error: { name: e?.name ?? "Error", message: e?.message ?? String(err), stack: e?.stack, output } });
    }
  },
);
