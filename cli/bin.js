#!/usr/bin/env node
// The idflow command. Registers tsx so the CLI and task files run as TypeScript with no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
await main(process.argv.slice(2));
