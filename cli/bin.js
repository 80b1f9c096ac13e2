#!/usr/bin/env node
// The idflow command. Registers tsx (task files are TypeScript and load with no build step), then
// runs the CLI: from source in idflow's own repository (cli/main.ts beside this file), from the
// compiled dist/cli/main.js in an installed package (which ships no .ts). Same code, same flags.
import { existsSync } from "node:fs";
import { register as registerHooks } from "node:module";
import { MessageChannel } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
// tsx transforms in Node's module-hooks thread, where esbuild's service (a child process of about
// 18 MB) starts on a cold cache and would live as long as the worker. This hook, in that same
// thread, stops it when the CLI says the task modules are loaded; the next transform restarts it.
const transpiler = new MessageChannel();
const stopHook = `export function initialize({ port, tsx }) {
  port.on("message", async () => {
    try {
      const { createRequire } = await import("node:module");
      const { pathToFileURL } = await import("node:url");
      const esbuild = await import(pathToFileURL(createRequire(tsx).resolve("esbuild")).href);
      await (esbuild.stop ?? esbuild.default?.stop)?.();
    } catch {}
  });
  port.unref();
}`;
registerHooks(`data:text/javascript,${encodeURIComponent(stopHook)}`, import.meta.url, {
  data: { port: transpiler.port2, tsx: import.meta.resolve("tsx/esm/api") },
  transferList: [transpiler.port2],
});
transpiler.port1.unref();
globalThis[Symbol.for("idflow.stopTranspiler")] = () => transpiler.port1.postMessage("stop");
const source = new URL("./main.ts", import.meta.url);
const { main } = await import(existsSync(source) ? source.href : new URL("../dist/cli/main.js", import.meta.url).href);
await main(process.argv.slice(2));
