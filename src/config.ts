/**
 * One configuration source for every command: flags > environment > defaults (the running
 * local server's state file sits between the environment and the default for the URL).
 * Each setting is declared once here with its default and what it means.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** Where Conductor is when nothing says otherwise. */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:8080";

export interface ProjectPaths {
  /** The project root: holds tasks/ and workflows/. */
  root: string;
  /** idflow's own state: the local server's data, logs and state file, the result spool. */
  stateDir: string;
}

/** `--root` > IDFLOW_ROOT > the current directory. `.idflow/` inside it unless IDFLOW_STATE_DIR says otherwise. */
export function projectPaths(flags: { root?: string; stateDir?: string } = {}, env: NodeJS.ProcessEnv = process.env): ProjectPaths {
  const root = path.resolve(flags.root ?? env.IDFLOW_ROOT ?? process.cwd());
  const stateDir = path.resolve(root, flags.stateDir ?? env.IDFLOW_STATE_DIR ?? ".idflow");
  return { root, stateDir };
}

/** Accepts `http://host:8080`, `http://host:8080/`, `http://host:8080/api` and returns the base without `/api`. */
export function normalizeServerUrl(url: string): string {
  let u = url.trim();
  if (!/^https?:\/\//i.test(u)) {
    throw new ConfigError(`server URL "${url}" is not an http(s) URL: write it like http://127.0.0.1:8080`);
  }
  u = u.replace(/\/+$/, "");
  if (u.toLowerCase().endsWith("/api")) u = u.slice(0, -4);
  return u.replace(/\/+$/, "");
}

export type ServerUrlSource = "flag" | "env" | "local-server" | "default";

/** The file `idflow server start` writes while the local server runs. */
export function serverStateFile(stateDir: string): string {
  return path.join(stateDir, "server.json");
}

/** `--server-url` > CONDUCTOR_SERVER_URL > the local server's state file > the default. */
export function resolveServerUrl(
  flags: { serverUrl?: string },
  paths: ProjectPaths,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; source: ServerUrlSource } {
  if (flags.serverUrl) return { url: normalizeServerUrl(flags.serverUrl), source: "flag" };
  if (env.CONDUCTOR_SERVER_URL) return { url: normalizeServerUrl(env.CONDUCTOR_SERVER_URL), source: "env" };
  const stateFile = serverStateFile(paths.stateDir);
  if (existsSync(stateFile)) {
    try {
      const state = JSON.parse(readFileSync(stateFile, "utf8")) as { url?: string };
      if (state.url) return { url: normalizeServerUrl(state.url), source: "local-server" };
    } catch {
      // A broken state file is reported by `idflow server status`; here we fall back.
    }
  }
  return { url: DEFAULT_SERVER_URL, source: "default" };
}

/** Orkes credentials from the environment (the official SDKs' names). OSS needs none. */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): { keyId: string; keySecret: string } | undefined {
  const keyId = env.CONDUCTOR_AUTH_KEY;
  const keySecret = env.CONDUCTOR_AUTH_SECRET;
  if (keyId && keySecret) return { keyId, keySecret };
  return undefined;
}

/** A configuration mistake a person can fix; the CLI prints it without a stack and exits 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
