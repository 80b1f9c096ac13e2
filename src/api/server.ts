/** Which Conductor an API caller talks to: options beat the environment, which beats idflow.config.json (src/config.ts). */
import { resolveConfig, type ResolvedConfig } from "../config.ts";
import { ConductorClient } from "../conductor/client.ts";

export interface ServerOptions {
  /** Conductor URL, with or without /api (default: CONDUCTOR_SERVER_URL, the project file, the local server, http://127.0.0.1:8080). */
  url?: string;
  /** Orkes key id and secret (default: CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET, or authFile). */
  authKey?: string;
  authSecret?: string;
  /** A JSON file holding {"keyId", "keySecret"}. */
  authFile?: string;
}

export interface ConnectOptions {
  /** The project root (tasks/, workflows/, idflow.config.json); default: IDFLOW_ROOT or the current directory. */
  root?: string;
  /** The server: options, or a ConductorClient you made (it is not closed for you). */
  server?: ServerOptions | ConductorClient;
}

/** The resolved configuration and a client; `owned` says whether closing the client is ours to do. */
export function connectApi(opts: ConnectOptions, extra: Record<string, unknown> = {}): { config: ResolvedConfig; client: ConductorClient; owned: boolean } {
  const server = opts.server instanceof ConductorClient ? undefined : opts.server;
  const config = resolveConfig({
    root: opts.root,
    serverUrl: server?.url,
    authKey: server?.authKey,
    authSecret: server?.authSecret,
    authFile: server?.authFile,
    ...extra,
  });
  if (opts.server instanceof ConductorClient) return { config, client: opts.server, owned: false };
  return { config, client: new ConductorClient({ serverUrl: config.serverUrl, auth: config.auth }), owned: true };
}
