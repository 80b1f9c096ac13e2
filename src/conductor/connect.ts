import { authFromEnv, projectPaths, resolveServerUrl, type ProjectPaths } from "../config.ts";
import { ConductorClient } from "./client.ts";

/** A client for the Conductor every command agrees on (see resolveServerUrl). */
export function connect(flags: { serverUrl?: string; root?: string } = {}, paths: ProjectPaths = projectPaths(flags)): ConductorClient {
  const { url } = resolveServerUrl(flags, paths);
  return new ConductorClient({ serverUrl: url, auth: authFromEnv() });
}
