#!/usr/bin/env node
// The idflow command. Registers tsx (task files are TypeScript and load with no build step), then
// runs the CLI: from source in idflow's own repository (cli/main.ts beside this file), from the
// compiled dist/cli/main.js in an installed package (which ships no .ts). Same code, same flags.
import { existsSync } from "node:fs";
import Module from "node:module";
import { MessageChannel } from "node:worker_threads";
import { register } from "tsx/esm/api";

// On a cold transform cache (a fresh container) esbuild's service, a child process of about 18 MB,
// starts wherever tsx transforms, and would live as long as the worker: in this thread (tsx's
// CommonJS hook, and its ESM hooks where Node has module.registerHooks: 22.22.3+, 24.11.1+) or in
// Node's module-hooks thread (its ESM hooks through module.register, on older Nodes). `worker start`
// calls the stopTranspiler below once the task modules are loaded; the next transform restarts it.
// Whether tsx went off-thread is seen, not guessed: its module.register call is watched while it
// registers (tsx calls it through node:module's default export). Only then is the hook that stops
// esbuild in that thread added: on a Node where tsx stays here, it would start a thread of its own
// (an isolate of about 18 MB) that has nothing to stop.
// For tsx's synchronous transforms esbuild runs its service from a worker thread of its own; stopping
// ends that thread, and the exited service stays listed as <defunct> (no memory) until the worker
// exits, since the thread that would have collected it is gone.
const offThreadRegister = Module.register;
let hooksThread = false;
Module.register = function (...args) {
  hooksThread = true;
  return offThreadRegister.apply(this, args);
};
try {
  register();
} finally {
  Module.register = offThreadRegister;
}
const tsxApi = import.meta.resolve("tsx/esm/api");
/**
 * Stops esbuild's service in the thread it runs in: esbuild's module as tsx loads it (the same
 * instance, resolved from tsx's folder). Self-contained (only dynamic imports), so the module-hooks
 * thread runs this same function from its source text.
 */
async function stopEsbuild(tsx) {
  try {
    const { createRequire } = await import("node:module");
    const { pathToFileURL } = await import("node:url");
    const esbuild = await import(pathToFileURL(createRequire(tsx).resolve("esbuild")).href);
    await (esbuild.stop ?? esbuild.default?.stop)?.();
  } catch {}
}
let stopInHooksThread = () => {};
if (hooksThread) {
  const transpiler = new MessageChannel();
  const stopHook = `const stopEsbuild = ${stopEsbuild};
export function initialize({ port, tsx }) {
  port.on("message", () => stopEsbuild(tsx));
  port.unref();
}`;
  Module.register(`data:text/javascript,${encodeURIComponent(stopHook)}`, import.meta.url, {
    data: { port: transpiler.port2, tsx: tsxApi },
    transferList: [transpiler.port2],
  });
  transpiler.port1.unref();
  stopInHooksThread = () => transpiler.port1.postMessage("stop");
}
globalThis[Symbol.for("idflow.stopTranspiler")] = () => {
  stopInHooksThread();
  void stopEsbuild(tsxApi);
};
const source = new URL("./main.ts", import.meta.url);
const { main } = await import(existsSync(source) ? source.href : new URL("../dist/cli/main.js", import.meta.url).href);
await main(process.argv.slice(2));
