/** The Conductor a benchmark runs against: CONDUCTOR_SERVER_URL when given, else a private local server (IDFLOW_CONDUCTOR_JAR or the resolved jar), stopped by `stop()`. */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalServer, stopLocalServer } from "../src/server/index.ts";

export async function benchServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.CONDUCTOR_SERVER_URL;
  if (given) return { url: given, stop: async () => {} };
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "idflow-bench-"));
  console.error("starting a private Conductor for the benchmark...");
  const r = await startLocalServer({ stateDir, port: 0, jar: process.env.IDFLOW_CONDUCTOR_JAR });
  return {
    url: r.state.url,
    stop: () =>
      stopLocalServer({ stateDir }).then(
        () => {},
        () => {},
      ),
  };
}
