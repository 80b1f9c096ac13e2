/**
 * The real Conductor for end-to-end tests. `npm test` (test/run.ts) starts one server per run
 * and exports its URL as IDFLOW_TEST_SERVER_URL. Without it, e2e tests fail loudly: they
 * never pass silently without a server.
 */
import { ConductorClient } from "../../src/conductor/client.ts";

export function testServerUrl(): string {
  const url = process.env.IDFLOW_TEST_SERVER_URL;
  if (!url) {
    throw new Error(
      "IDFLOW_TEST_SERVER_URL is not set: end-to-end tests need the real Conductor that `npm test` starts. Run them through `npm test`, or start a server (`npx idflow server start`) and export IDFLOW_TEST_SERVER_URL=http://127.0.0.1:<port>.",
    );
  }
  return url;
}

export function testClient(): ConductorClient {
  return new ConductorClient({ serverUrl: testServerUrl() });
}

/** A name no other test uses, so tests can share one server. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
