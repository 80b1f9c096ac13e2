/**
 * Which Conductor a validation targets. Rules differ by server version, so validation needs
 * one, and says which it used and why. In order:
 *   1. an explicit version (`--conductor-version`);
 *   2. the server's own answer (`GET /api/admin/config` → `version`) when a server answers;
 *   3. `conductorVersion` in idflow.config.json;
 *   4. the local server idflow runs: the running one's version, else what the pin for the
 *      machine's Java resolves to (3.21.22 is pinned for Java 17, Maven Central serves 3.21.14).
 */
import type { ConductorClient } from "../conductor/client.ts";
import { cachedResolution } from "../server/jar.ts";
import { findJava } from "../server/java.ts";
import { readState } from "../server/state.ts";
import { compareVersions, PINS, pinnedVersion } from "../server/versions.ts";

export type TargetSource = "flag" | "server" | "config" | "local-server" | "local-pin";

export interface ConductorTarget {
  /** A Conductor OSS version, e.g. "3.21.14". */
  version: string;
  source: TargetSource;
  /** Why this version, for people: "the server at http://… answers 3.32.3". */
  reason: string;
}

/** A version such as 3.21.14 (a suffix like -rc.1 or -SNAPSHOT is allowed). */
export const VERSION_PATTERN = /^\d+\.\d+(\.\d+)?([.-][\w.-]+)?$/;

/** [from, before): the server versions a rule applies to; either end may be open. */
export interface VersionRange {
  from?: string;
  before?: string;
}

export function inRange(version: string, range: VersionRange | undefined): boolean {
  if (!range) return true;
  const v = coreVersion(version);
  if (range.from && compareVersions(v, range.from) < 0) return false;
  if (range.before && compareVersions(v, range.before) >= 0) return false;
  return true;
}

/** "Conductor 3.22.0 and later", "Conductor before 3.21.21", "Conductor 3.21.19 to 3.32.0". */
export function describeRange(range: VersionRange): string {
  if (range.from && range.before) return `Conductor ${range.from} up to (not including) ${range.before}`;
  if (range.from) return `Conductor ${range.from} and later`;
  if (range.before) return `Conductor before ${range.before}`;
  return "every Conductor";
}

/** 3.32.0-rc.5 and 3.21.14-SNAPSHOT compare as their release numbers. */
function coreVersion(v: string): string {
  return /^\d+(\.\d+)*/.exec(v)?.[0] ?? v;
}

/** The oldest version idflow's local server would run when nothing else is known. */
export const FALLBACK_VERSION = "3.21.14";

export interface ResolveTargetOptions {
  /** `--conductor-version`. */
  explicit?: string;
  /** A client for the server to ask; left out: do not ask. */
  client?: ConductorClient;
  /** How long to wait for the server's answer (validate asks only briefly). */
  serverTimeoutMs?: number;
  /** `conductorVersion` from idflow.config.json. */
  configVersion?: string;
  /** idflow's state folder (the running local server's state file). */
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
}

export async function resolveTarget(opts: ResolveTargetOptions): Promise<ConductorTarget> {
  if (opts.explicit) return { version: opts.explicit, source: "flag", reason: "--conductor-version" };
  if (opts.client) {
    const version = await opts.client.serverVersion(opts.serverTimeoutMs ?? 2000);
    if (version) return { version, source: "server", reason: `the server at ${opts.client.baseUrl} answers ${version}` };
  }
  if (opts.configVersion) return { version: opts.configVersion, source: "config", reason: '"conductorVersion" in idflow.config.json' };
  return localServerTarget(opts.stateDir, opts.env ?? process.env);
}

/** The version of the local server idflow runs (or would run) on this machine. */
export async function localServerTarget(stateDir: string | undefined, env: NodeJS.ProcessEnv): Promise<ConductorTarget> {
  if (stateDir) {
    const s = readState(stateDir);
    if (s.kind === "ok" && s.state.version)
      return { version: s.state.version, source: "local-server", reason: `the local server idflow runs (${s.state.url}, not answering now)` };
  }
  const requested = env.IDFLOW_CONDUCTOR_VERSION;
  let pin = requested;
  if (!pin) {
    try {
      pin = pinnedVersion((await findJava({ env })).major);
    } catch {
      pin = PINS[PINS.length - 1].version;
    }
  }
  const resolved = (await cachedResolution(pin, env)) ?? (compareVersions(pin, "3.21.22") === 0 ? FALLBACK_VERSION : pin);
  const why = requested ? "IDFLOW_CONDUCTOR_VERSION" : `the pin for this machine's Java (${pin}${resolved !== pin ? `, served as ${resolved}` : ""})`;
  return { version: resolved, source: "local-pin", reason: `the local server idflow would run: ${why}; no server answered` };
}
