// Entry of an `idflow dev` worker process: make tsx load TypeScript, then run folder-process.ts.
import { register } from "tsx/esm/api";

register();
await import("./folder-process.ts");
