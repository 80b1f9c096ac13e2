#!/usr/bin/env node
// The idflow command. Registers tsx (task files are TypeScript and load with no build step), then
// runs the CLI: from source in idflow's own repository (cli/main.ts beside this file), from the
// compiled dist/cli/main.js in an installed package (which ships no .ts). Same code, same flags.
import { existsSync } from "node:fs";
import { register } from "tsx/esm/api";

register();
const source = new URL("./main.ts", import.meta.url);
const { main } = await import(existsSync(source) ? source.href : new URL("../dist/cli/main.js", import.meta.url).href);
await main(process.argv.slice(2));
