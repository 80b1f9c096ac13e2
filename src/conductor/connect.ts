import { projectPaths, resolveConfig, type ProjectPaths } from "../config.ts";
import { ConductorClient } from "./client.ts";

/** A client for the Conductor every command agrees on (flags > env > idflow.config.json > local server > default). */
export function connect(flags: { serverUrl?: string; root?: string; authFile?: string } = {}, paths: ProjectPaths = projectPaths(flags)): ConductorClient {
  const c = resolveConfig({ serverUrl: flags.serverUrl, authFile: flags.authFile, root: paths.root, stateDir: paths.stateDir });
  return new ConductorClient({ serverUrl: c.serverUrl, auth: c.auth });
}
