// Entry of the local server's mender process (src/server/mender-process.ts). In the repository
// the process is TypeScript, so tsx is registered first; the built package runs the compiled
// JavaScript as is (no loader: a smaller process).
import { existsSync } from "node:fs";

if (existsSync(new URL("./mender-process.ts", import.meta.url))) {
  const { register } = await import("tsx/esm/api");
  register();
}
await import("./mender-process.ts");
