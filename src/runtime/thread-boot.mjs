// Entry of an isolation "thread" worker: make tsx load TypeScript in this thread, then run
// thread-entry. "./thread-entry.js" is the compiled file in dist/; in the repository tsx
// resolves it to thread-entry.ts beside this file.
import { register } from "tsx/esm/api";

register();
await import("./thread-entry.js");
