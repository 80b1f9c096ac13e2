/**
 * One configuration source for every command and for the programmatic API:
 *   flags (or the API's options) > environment > the project file (idflow.config.json) > defaults.
 * Every option is declared once below (CONFIG_OPTIONS) with its type, default, one-line doc,
 * environment variable, flag and file key; the CLI flags, the JSON Schema shipped for the file
 * (schema/idflow.config.schema.json), `idflow config` and the README read these declarations.
 * Worker options per task or for all ("*") live under "workers" in the file and sit between
 * CONDUCTOR_WORKER_* variables and the decorator (see src/discovery/env-overrides.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { validateConfigFile } from "./config-file.ts";
import { WORKER_SETTING_DECLS, type WorkerSettingValues } from "./task/options.ts";

/** Where Conductor is when nothing says otherwise. */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:8080";
/** The project file, at the project root. */
export const PROJECT_CONFIG_FILE = "idflow.config.json";

export type ConfigType = "string" | "integer" | "boolean" | "string[]" | "workers";

/** One option, declared once. */
export interface OptionDecl {
  /** Key in the resolved configuration and in idflow.config.json. */
  key: string;
  type: ConfigType;
  /** One line: what it means. */
  doc: string;
  /** The default (undefined: unset). */
  default?: unknown;
  /** Environment variables, the first one documented. */
  env?: string[];
  /** CLI flag (kebab-case, without dashes). */
  flag?: string;
  /** Allowed values (strings). */
  choices?: readonly string[];
  minimum?: number;
  maximum?: number;
  /** A regular expression a string must match (JSON Schema "pattern"), and an example that does. */
  pattern?: string;
  example?: string;
  /** Never printed: shown as "[redacted]". */
  secret?: boolean;
  /** Not accepted in idflow.config.json (the root holds the file; a secret does not belong in a committed file). */
  notInFile?: boolean;
}

export const LOG_LEVEL_CHOICES = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export const LOG_FORMAT_CHOICES = ["auto", "json", "pretty"] as const;

/** Worker options a project file may set per task (or for all under "*"): declared in src/task/options.ts. */
export const FILE_WORKER_OPTIONS = WORKER_SETTING_DECLS;
export type FileWorkerOptions = WorkerSettingValues;

export const CONFIG_OPTIONS: readonly OptionDecl[] = [
  {
    key: "root",
    type: "string",
    doc: "the project: holds tasks/, workflows/ and idflow.config.json",
    default: ".",
    env: ["IDFLOW_ROOT"],
    flag: "root",
    notInFile: true,
  },
  { key: "stateDir", type: "string", doc: "idflow's own state (local server, spool), relative to the root", default: ".idflow", env: ["IDFLOW_STATE_DIR"] },
  {
    key: "serverUrl",
    type: "string",
    doc: "Conductor URL, with or without /api (unset: the running local server, then http://127.0.0.1:8080)",
    env: ["CONDUCTOR_SERVER_URL"],
    flag: "server-url",
  },
  { key: "authKey", type: "string", doc: "Orkes key id, exchanged with the secret for a token", env: ["CONDUCTOR_AUTH_KEY"] },
  {
    key: "authSecret",
    type: "string",
    doc: "Orkes key secret (environment only; or put both in authFile)",
    env: ["CONDUCTOR_AUTH_SECRET"],
    secret: true,
    notInFile: true,
  },
  {
    key: "authFile",
    type: "string",
    doc: 'a JSON file holding {"keyId": "...", "keySecret": "..."} (relative to the root)',
    env: ["IDFLOW_AUTH_FILE"],
    flag: "auth-file",
  },
  {
    key: "logLevel",
    type: "string",
    doc: "lowest log level written",
    default: "info",
    choices: LOG_LEVEL_CHOICES,
    env: ["IDFLOW_LOG_LEVEL", "LOG_LEVEL"],
    flag: "log-level",
  },
  {
    key: "logFormat",
    type: "string",
    doc: "log format (auto: pretty on a terminal, json otherwise)",
    default: "auto",
    choices: LOG_FORMAT_CHOICES,
    env: ["IDFLOW_LOG_FORMAT"],
    flag: "log-format",
  },
  {
    key: "metricsPort",
    type: "integer",
    doc: "serve Prometheus metrics and health on this port (unset: off; 0 picks a free one)",
    minimum: 0,
    maximum: 65535,
    env: ["IDFLOW_METRICS_PORT"],
    flag: "metrics-port",
  },
  {
    key: "metricsHost",
    type: "string",
    doc: "address the metrics and health server listens on",
    default: "127.0.0.1",
    env: ["IDFLOW_METRICS_HOST"],
    flag: "metrics-host",
  },
  {
    key: "shutdownGraceSeconds",
    type: "integer",
    doc: "how long in-flight tasks may run on after the first Ctrl-C/SIGTERM, in seconds",
    default: 30,
    minimum: 0,
    env: ["IDFLOW_SHUTDOWN_GRACE"],
    flag: "shutdown-grace",
  },
  {
    key: "spoolSync",
    type: "string",
    doc: "when the result spool is synced to disk: background (written before a result is sent, synced if still undelivered 1 s later), always (synced before it is sent: survives a power loss, slower), never",
    default: "background",
    choices: ["always", "background", "never"],
    env: ["IDFLOW_SPOOL_SYNC"],
    flag: "spool-sync",
  },
  {
    key: "workers",
    type: "workers",
    doc: 'worker options per task name, or for all under "*" (below CONDUCTOR_WORKER_* and flags, above the decorator)',
    default: {},
  },
  { key: "ownerEmail", type: "string", doc: "filled into task and workflow definitions that have none" },
  { key: "externalTasks", type: "string[]", doc: "SIMPLE tasks served by workers outside this project", default: [] },
  { key: "externalWorkflows", type: "string[]", doc: "workflows SUB_WORKFLOW may name that live outside this project", default: [] },
  {
    key: "conductorVersion",
    type: "string",
    doc: "the Conductor version to validate workflows for when no server answers (validation rules by version)",
    pattern: "^\\d+\\.\\d+(\\.\\d+)?([.-][\\w.-]+)?$",
    example: "3.21.14",
  },
];

export type ConfigSource = "flag" | "env" | "file" | "local-server" | "default";

export interface ConfigValue {
  value: unknown;
  source: ConfigSource;
  /** The flag, variable, file (with JSON pointer) the value came from. */
  from?: string;
}

export interface ResolvedConfig {
  root: string;
  stateDir: string;
  serverUrl: string;
  auth?: { keyId: string; keySecret: string };
  logLevel: (typeof LOG_LEVEL_CHOICES)[number];
  logFormat?: "json" | "pretty";
  metricsPort?: number;
  metricsHost: string;
  shutdownGraceSeconds: number;
  spoolSync: "always" | "background" | "never";
  workers: Record<string, FileWorkerOptions>;
  ownerEmail?: string;
  externalTasks: string[];
  externalWorkflows: string[];
  conductorVersion?: string;
  /** Each option's value and where it came from (secrets included: print with describeConfig). */
  entries: Record<string, ConfigValue>;
  /** The project file, when there is one. */
  file?: string;
}

/** Values given by flags or by the API's options, keyed like CONFIG_OPTIONS (undefined: not given). */
export type ConfigFlags = Partial<Record<string, unknown>>;

/** Resolve every option: flags > environment > idflow.config.json > defaults. Throws ConfigError for a bad value. */
export function resolveConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ResolvedConfig {
  const entries: Record<string, ConfigValue> = {};
  const rootDecl = decl("root");
  const rootPick = pick(rootDecl, flags, env, undefined);
  const root = path.resolve(cwd, String(rootPick?.value ?? rootDecl.default));
  entries.root = { ...(rootPick ?? { source: "default" as const }), value: root };
  const fileAbs = path.join(root, PROJECT_CONFIG_FILE);
  const fileValues = existsSync(fileAbs) ? readConfigFile(fileAbs) : undefined;
  for (const d of CONFIG_OPTIONS) {
    if (d.key === "root") continue;
    const got = pick(d, flags, env, fileValues ? { values: fileValues, file: fileAbs } : undefined);
    if (got) entries[d.key] = got;
    else if (d.default !== undefined) entries[d.key] = { value: d.default, source: "default" };
  }
  const stateDir = path.resolve(root, String(entries.stateDir.value));
  entries.stateDir.value = stateDir;
  if (!entries.serverUrl) {
    const local = localServerUrl(stateDir);
    entries.serverUrl = local ? { value: local, source: "local-server", from: serverStateFile(stateDir) } : { value: DEFAULT_SERVER_URL, source: "default" };
  }
  entries.serverUrl.value = normalizeServerUrl(String(entries.serverUrl.value), describeOrigin(entries.serverUrl, "serverUrl"));
  const v = (k: string) => entries[k]?.value;
  const auth = resolveAuth(entries, root);
  const logFormat = v("logFormat") as string;
  return {
    root,
    stateDir,
    serverUrl: v("serverUrl") as string,
    ...(auth ? { auth } : {}),
    logLevel: v("logLevel") as ResolvedConfig["logLevel"],
    ...(logFormat === "auto" ? {} : { logFormat: logFormat as "json" | "pretty" }),
    ...(v("metricsPort") !== undefined ? { metricsPort: v("metricsPort") as number } : {}),
    metricsHost: v("metricsHost") as string,
    shutdownGraceSeconds: v("shutdownGraceSeconds") as number,
    spoolSync: v("spoolSync") as ResolvedConfig["spoolSync"],
    workers: v("workers") as Record<string, FileWorkerOptions>,
    ...(v("ownerEmail") !== undefined ? { ownerEmail: v("ownerEmail") as string } : {}),
    externalTasks: v("externalTasks") as string[],
    externalWorkflows: v("externalWorkflows") as string[],
    ...(v("conductorVersion") !== undefined ? { conductorVersion: v("conductorVersion") as string } : {}),
    entries,
    ...(fileValues ? { file: fileAbs } : {}),
  };
}

/** The resolved configuration as rows for people and for `--json`, secrets redacted. */
export function describeConfig(c: ResolvedConfig): Array<{ key: string; value: unknown; source: ConfigSource; from?: string }> {
  const rows: Array<{ key: string; value: unknown; source: ConfigSource; from?: string }> = [];
  for (const d of CONFIG_OPTIONS) {
    const e = c.entries[d.key];
    if (!e) continue;
    if (d.type === "workers") {
      for (const [task, opts] of Object.entries(e.value as Record<string, FileWorkerOptions>)) {
        for (const [prop, value] of Object.entries(opts))
          rows.push({ key: `workers.${task}.${prop}`, value, source: e.source, from: e.from && `${e.from}/${task}/${prop}` });
      }
      continue;
    }
    rows.push({ key: d.key, value: d.secret ? "[redacted]" : e.value, source: e.source, ...(e.from ? { from: e.from } : {}) });
  }
  if (c.auth && c.entries.authFile)
    rows.push({ key: "authFile.keySecret", value: "[redacted]", source: c.entries.authFile.source, from: String(c.entries.authFile.value) });
  return rows;
}

/** The project file's "workers" section alone (discovery reads it; an invalid file is a ConfigError). */
export function fileWorkerOptions(root: string): Record<string, FileWorkerOptions> {
  const file = path.join(root, PROJECT_CONFIG_FILE);
  if (!existsSync(file)) return {};
  return (readConfigFile(file).workers as Record<string, FileWorkerOptions> | undefined) ?? {};
}

function decl(key: string): OptionDecl {
  const d = CONFIG_OPTIONS.find((o) => o.key === key);
  if (!d) throw new Error(`no configuration option "${key}"`);
  return d;
}

/** The first layer that sets this option, parsed and checked. */
function pick(
  d: OptionDecl,
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv,
  file: { values: Record<string, unknown>; file: string } | undefined,
): ConfigValue | undefined {
  const flagValue = flags[d.key];
  if (flagValue !== undefined && flagValue !== null && flagValue !== "") {
    const where = d.flag ? `--${d.flag}` : `option ${d.key}`;
    return { value: check(d, flagValue, where), source: "flag", from: where };
  }
  for (const name of d.env ?? []) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    return { value: check(d, parseEnv(d, raw, name), name), source: "env", from: name };
  }
  if (file && d.key in file.values) return { value: file.values[d.key], source: "file", from: `${file.file}#/${d.key}` };
  return undefined;
}

function parseEnv(d: OptionDecl, raw: string, name: string): unknown {
  const t = raw.trim();
  if (d.type === "integer") {
    if (!/^-?\d+$/.test(t)) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
    return Number(t);
  }
  if (d.type === "boolean") {
    if (["true", "1", "yes", "on"].includes(t.toLowerCase())) return true;
    if (["false", "0", "no", "off"].includes(t.toLowerCase())) return false;
    throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
  }
  if (d.type === "string[]")
    return t
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  return t;
}

/** A value from a flag or the environment (the file is checked by its JSON Schema). */
function check(d: OptionDecl, value: unknown, where: string): unknown {
  const fail = (expected: string) => new ConfigError(`${where} must be ${expected}, got ${JSON.stringify(value)}`);
  if (d.type === "integer") {
    if (typeof value !== "number" || !Number.isInteger(value)) throw fail("a whole number");
    if (d.minimum !== undefined && value < d.minimum) throw fail(`>= ${d.minimum}`);
    if (d.maximum !== undefined && value > d.maximum) throw fail(`<= ${d.maximum}`);
  } else if (d.type === "string" && typeof value !== "string") throw fail("a string");
  if (d.choices && !d.choices.includes(value as string)) throw fail(`one of ${d.choices.join(", ")}`);
  return value;
}

/** Read and check idflow.config.json (against the shipped JSON Schema); a mistake is a ConfigError naming the file, line and key. */
export function readConfigFile(file: string): Record<string, unknown> {
  const { value, problems } = validateConfigFile(file, readFileSync(file, "utf8"));
  if (problems.length > 0) {
    throw new ConfigError(`${path.relative(process.cwd(), file) || file} is not a valid idflow configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  return value as Record<string, unknown>;
}

function describeOrigin(e: ConfigValue, key: string): string {
  return e.from ?? key;
}

function resolveAuth(entries: Record<string, ConfigValue>, root: string): { keyId: string; keySecret: string } | undefined {
  const keyId = entries.authKey?.value as string | undefined;
  const keySecret = entries.authSecret?.value as string | undefined;
  if (keyId && keySecret) return { keyId, keySecret };
  const fileEntry = entries.authFile;
  if (!fileEntry) {
    if (keyId || keySecret)
      throw new ConfigError(
        `${keyId ? "CONDUCTOR_AUTH_SECRET" : "CONDUCTOR_AUTH_KEY"} is missing: Orkes needs both the key id and the secret (or set authFile)`,
      );
    return undefined;
  }
  const file = path.resolve(root, String(fileEntry.value));
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(
      `cannot read the auth file ${file} (from ${fileEntry.from}): ${(err as Error).message.split("\n")[0]}; it must hold {"keyId": "...", "keySecret": "..."}`,
    );
  }
  const o = parsed as { keyId?: unknown; keySecret?: unknown };
  if (typeof o?.keyId !== "string" || typeof o?.keySecret !== "string" || !o.keyId || !o.keySecret) {
    throw new ConfigError(`the auth file ${file} must hold {"keyId": "...", "keySecret": "..."} (both non-empty strings)`);
  }
  return { keyId: keyId ?? o.keyId, keySecret: keySecret ?? o.keySecret };
}

function localServerUrl(stateDir: string): string | undefined {
  const stateFile = serverStateFile(stateDir);
  if (!existsSync(stateFile)) return undefined;
  try {
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as { url?: string };
    return state.url || undefined;
  } catch {
    return undefined; // A broken state file is reported by `idflow server status`; here we fall back.
  }
}

export interface ProjectPaths {
  /** The project root: holds tasks/ and workflows/. */
  root: string;
  /** idflow's own state: the local server's data, logs and state file, the result spool. */
  stateDir: string;
}

/** `--root` > IDFLOW_ROOT > the current directory; `.idflow/` inside it unless IDFLOW_STATE_DIR or the file says otherwise. */
export function projectPaths(flags: { root?: string; stateDir?: string } = {}, env: NodeJS.ProcessEnv = process.env): ProjectPaths {
  const c = resolveConfig({ root: flags.root, stateDir: flags.stateDir }, env);
  return { root: c.root, stateDir: c.stateDir };
}

/** Accepts `http://host:8080`, `http://host:8080/`, `http://host:8080/api` and returns the base without `/api`. */
export function normalizeServerUrl(url: string, where = "server URL"): string {
  let u = url.trim();
  if (!/^https?:\/\//i.test(u)) {
    throw new ConfigError(`${where}: "${url}" is not an http(s) URL: write it like http://127.0.0.1:8080`);
  }
  u = u.replace(/\/+$/, "");
  if (u.toLowerCase().endsWith("/api")) u = u.slice(0, -4);
  return u.replace(/\/+$/, "");
}

export type ServerUrlSource = "flag" | "env" | "file" | "local-server" | "default";

/** The file `idflow server start` writes while the local server runs. */
export function serverStateFile(stateDir: string): string {
  return path.join(stateDir, "server.json");
}

/** `--server-url` > CONDUCTOR_SERVER_URL > idflow.config.json > the local server's state file > the default. */
export function resolveServerUrl(
  flags: { serverUrl?: string },
  paths: ProjectPaths,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; source: ServerUrlSource } {
  const c = resolveConfig({ serverUrl: flags.serverUrl, root: paths.root, stateDir: paths.stateDir }, env);
  return { url: c.serverUrl, source: c.entries.serverUrl.source };
}

/** Orkes credentials (key and secret from the environment, or the auth file). OSS needs none. */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): { keyId: string; keySecret: string } | undefined {
  return resolveConfig({}, env).auth;
}

/** A configuration mistake a person can fix; the CLI prints it without a stack and exits 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
