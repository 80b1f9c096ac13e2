/** The local Conductor server room: resolve the jar, start, health-wait, stop, status, logs. */
export { ServerError } from "./errors.ts";
export { findJava, type JavaInfo } from "./java.ts";
export { cacheDir, resolveServerJar, type ResolvedJar, type ResolveJarOptions } from "./jar.ts";
export {
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_HEAP,
  DEFAULT_PORT,
  DEFAULT_STOP_TIMEOUT_MS,
  serverStatus,
  startLocalServer,
  stopLocalServer,
  type StartOptions,
  type StartResult,
  type StatusResult,
  type StopOptions,
  type StopResult,
} from "./local-server.ts";
export { followFile, tailLines } from "./logs.ts";
export { freePort, portIsFree } from "./port.ts";
export { readState, serverFiles, type ServerState } from "./state.ts";
export { explainServerChoice, pinnedVersion, PINS, MIN_JAVA } from "./versions.ts";
