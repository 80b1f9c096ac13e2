// Entry of an isolation "thread" worker: make tsx load TypeScript in this thread, then run thread-entry.ts.
import { register } from "tsx/esm/api";

register();
await import("./thread-entry.ts");
