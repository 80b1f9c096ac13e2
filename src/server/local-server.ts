/**
 * The local Conductor: start it (resolve java and the jar, write its config, spawn, wait for
 * /health), stop it (SIGTERM, then SIGKILL after a timeout), and tell its status.
 * Its pid, port and URL live in the state file; its output in a log file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, createWriteStream, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConductorClient } from "../conductor/client.ts";
import { ServerError } from "./errors.ts";
import { findJava } from "./java.ts";
import { resolveServerJar } from "./jar.ts";
import { tailLines } from "./logs.ts";
import { freePort, portIsFree } from "./port.ts";
import { explainServerChoice } from "./versions.ts";
import { serverProperties } from "./properties.ts";
import { isAlive, isOurServer, readState, removeState, serverFiles, writeState, type ServerState } from "./state.ts";

export const DEFAULT_PORT = 8080;
export const DEFAULT_HEAP = "1g";
export const DEFAULT_HEALTH_TIMEOUT_MS = 180_000;
export const DEFAULT_STOP_TIMEOUT_MS = 15_000;

export interface StartOptions {
  /** idflow's state folder (`.idflow/`): state file, config, SQLite data and log go here. */
  stateDir: string;
  /** Port on 127.0.0.1 (default 8080); 0 picks a free one. */
  port?: number;
  /** Run without persistence. */
  memory?: boolean;
  /** The java executable (else IDFLOW_JAVA, JAVA_HOME, PATH). */
  java?: string;
  /** A server jar to run as is (else IDFLOW_CONDUCTOR_JAR, else resolved through Maven). */
  jar?: string;
  /** Conductor version to resolve (else IDFLOW_CONDUCTOR_VERSION, else the pin for the Java found). */
  conductorVersion?: string;
  /** JVM heap limit, e.g. "1g" (else IDFLOW_SERVER_HEAP, else 1g). */
  heap?: string;
  /** How long to wait for /health, in ms (default 180 s). */
  healthTimeoutMs?: number;
  /** Keep the server attached: its output goes to onOutput too, and it is not detached. */
  foreground?: boolean;
  /** Detach the server from this process (default true unless foreground). */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Progress lines for people. */
  onProgress?: (line: string) => void;
  /** Server output in foreground mode. */
  onOutput?: (chunk: Buffer) => void;
  /** Run the workflow mender beside the server (default true; src/server/mender.ts says why). */
  mender?: boolean;
}

export interface StartResult {
  state: ServerState;
  /** true when a healthy server was already running: nothing was started. */
  alreadyRunning: boolean;
  /** Set when a stale state file from a crashed server was found and removed. */
  staleCleaned?: string;
  /** The server process (only when this call started it). */
  child?: ChildProcess;
}

export async function startLocalServer(opts: StartOptions): Promise<StartResult> {
  const env = opts.env ?? process.env;
  const say = opts.onProgress ?? (() => {});
  const files = serverFiles(opts.stateDir);

  // 1. Is one running already (or did one crash and leave its state file)?
  let staleCleaned: string | undefined;
  const prior = readState(opts.stateDir);
  if (prior.kind === "broken") {
    staleCleaned = `removed a broken state file: ${prior.problem}`;
    await removeState(opts.stateDir);
  } else if (prior.kind === "ok") {
    if (isOurServer(prior.state)) {
      const client = new ConductorClient({ serverUrl: prior.state.url });
      try {
        if (await client.healthy(3000)) {
          if (opts.mender !== false && !(prior.state.menderPid && isAlive(prior.state.menderPid))) {
            prior.state.menderPid = startMender(opts.stateDir, prior.state.pid, !prior.state.foreground);
            await writeState(opts.stateDir, prior.state);
          }
          return { state: prior.state, alreadyRunning: true };
        }
      } finally {
        client.close();
      }
      throw new ServerError(
        `a local Conductor is already running (pid ${prior.state.pid}, ${prior.state.url}) but does not answer /health yet: wait for it (\`idflow server status\`), read its log (\`idflow server logs\`), or stop it (\`idflow server stop\`)`,
        1,
        "not-healthy",
      );
    }
    staleCleaned = staleMessage(prior.state);
    await removeState(opts.stateDir);
  }
  if (staleCleaned) say(staleCleaned);

  // 2. Java, port, jar: each fails with its own message before anything is spawned.
  const java = await findJava({ java: opts.java, env });
  let port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ServerError(`--port ${opts.port} is not a port number (0 to 65535; 0 picks a free one)`, 2, "bad-port");
  }
  if (port === 0) port = await freePort();
  else if (!(await portIsFree(port))) {
    throw new ServerError(
      `port ${port} on 127.0.0.1 is taken by another program: stop that program, or start Conductor on another port with --port <n> (--port 0 picks a free one)`,
      1,
      "port-taken",
    );
  }
  const resolved = await resolveServerJar({ javaMajor: java.major, jar: opts.jar, version: opts.conductorVersion, env, onProgress: say });
  const choice = explainServerChoice({ ...resolved, java });
  say(choice.why);
  if (choice.newerLine) say(`  ${choice.newerLine}`);

  // 3. Config and log files.
  const memory = opts.memory ?? false;
  await mkdir(files.dir, { recursive: true });
  await writeFile(files.configFile, serverProperties({ port, memory, dataFile: files.dataFile }));
  const heap = opts.heap ?? env.IDFLOW_SERVER_HEAP ?? DEFAULT_HEAP;
  if (!/^\d+[kKmMgG]?$/.test(heap)) throw new ServerError(`heap size "${heap}" is not like 768m or 1g`, 2, "bad-heap");
  const logStart = fileSize(files.logFile);
  const logFd = openSync(files.logFile, "a");
  writeSync(
    logFd,
    `\n--- idflow server start ${new Date().toISOString()}: Conductor ${resolved.version ?? "?"} on Java ${java.version}, port ${port}${memory ? ", in memory" : ""} ---\n`,
  );

  // 4. Spawn.
  // The JVM's temporary files (Tomcat's, and any payload storage that falls back to a temp
  // folder) stay with the server's data under .idflow/, not in the system's /tmp.
  const tmpDir = path.join(path.dirname(files.dataFile), "tmp");
  await mkdir(tmpDir, { recursive: true });
  const args = [`-Xmx${heap}`, `-Djava.io.tmpdir=${tmpDir}`, ...(env.IDFLOW_SERVER_JAVA_OPTS ?? "").split(/\s+/).filter(Boolean), "-jar", resolved.jar];
  const foreground = opts.foreground ?? false;
  const detached = opts.detached ?? !foreground;
  say(`Starting Conductor ${resolved.version ?? ""} on http://127.0.0.1:${port} (${memory ? "in memory" : `data in ${files.dataFile}`})…`.replace("  ", " "));
  const child = spawn(java.path, args, {
    cwd: files.dir,
    env: { ...env, CONDUCTOR_CONFIG_FILE: files.configFile },
    detached,
    stdio: foreground ? ["ignore", "pipe", "pipe"] : ["ignore", logFd, logFd],
  });
  if (foreground) {
    const log = createWriteStream("", { fd: logFd });
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      opts.onOutput?.(chunk);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
  } else {
    closeSync(logFd);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  child.on("error", (err) => (spawnError = err));
  await new Promise((r) => setImmediate(r));
  if (spawnError || !child.pid) {
    throw new ServerError(`could not run ${java.path}: ${spawnError?.message ?? "no pid"}`, 1, "no-java");
  }

  const state: ServerState = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    port,
    version: resolved.version,
    jar: resolved.jar,
    java: java.path,
    memory,
    dataFile: memory ? undefined : files.dataFile,
    logFile: files.logFile,
    configFile: files.configFile,
    versionReason: choice.why,
    startedAt: new Date().toISOString(),
    status: "starting",
    foreground: foreground || undefined,
  };
  await writeState(opts.stateDir, state);

  // 5. Wait for /health.
  const timeoutMs = opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const started = Date.now();
  const client = new ConductorClient({ serverUrl: state.url });
  let lastSaid = started;
  try {
    for (;;) {
      if (exited || spawnError) {
        await removeState(opts.stateDir);
        const how = exited?.signal ? `was killed by ${exited.signal}` : `exited with code ${exited?.code ?? "?"}`;
        throw new ServerError(
          `Conductor ${how} before it answered /health. The last lines of ${files.logFile}:\n${indent(tailLines(files.logFile, 15, logStart))}${hintFromLog(files.logFile, logStart)}`,
          1,
          "exited",
        );
      }
      if (await client.healthy(2000)) break;
      const elapsed = Date.now() - started;
      if (elapsed >= timeoutMs) {
        await killAndWait(child.pid, 5000);
        await removeState(opts.stateDir);
        throw new ServerError(
          `Conductor did not answer ${state.url}/health within ${Math.round(timeoutMs / 1000)} s, so it was stopped. The last lines of ${files.logFile}:\n${indent(tailLines(files.logFile, 15, logStart))}\nA slow machine may need more time: --health-timeout <seconds>`,
          1,
          "health-timeout",
        );
      }
      if (Date.now() - lastSaid >= 5000) {
        say(`  waiting for ${state.url}/health (${Math.round(elapsed / 1000)}s; the JVM usually needs 10 to 30 s)…`);
        lastSaid = Date.now();
      }
      await sleep(Math.min(500, Math.max(50, timeoutMs - elapsed)));
    }
    state.version = (await client.serverVersion()) ?? state.version;
  } finally {
    client.close();
  }
  state.status = "running";
  if (opts.mender !== false) state.menderPid = startMender(opts.stateDir, child.pid, detached);
  await writeState(opts.stateDir, state);
  if (detached) child.unref();
  return { state, alreadyRunning: false, staleCleaned, child };
}

export interface StopOptions {
  stateDir: string;
  /** How long to wait after SIGTERM before SIGKILL, in ms (default 15 s). */
  timeoutMs?: number;
  onProgress?: (line: string) => void;
}

export interface StopResult {
  /** true when a running server was stopped. */
  stopped: boolean;
  /** true when it had to be killed after the timeout. */
  forced?: boolean;
  state?: ServerState;
  /** Set when only a stale state file was found (and removed). */
  staleCleaned?: string;
}

export async function stopLocalServer(opts: StopOptions): Promise<StopResult> {
  const found = await liveState(opts.stateDir);
  if (!found.live) return { stopped: false, state: found.state, staleCleaned: found.staleCleaned };
  const state = found.state;
  opts.onProgress?.(`Stopping Conductor (pid ${state.pid}, ${state.url})…`);
  if (state.menderPid) stopMender(state.menderPid);
  const forced = await killAndWait(state.pid, opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, opts.onProgress);
  await removeState(opts.stateDir);
  return { stopped: true, forced, state };
}

/** The state of a server that is really running, or why there is none: a broken or stale state file is removed, and said so. */
async function liveState(stateDir: string): Promise<{ live: true; state: ServerState } | { live: false; state?: ServerState; staleCleaned?: string }> {
  const read = readState(stateDir);
  if (read.kind === "none") return { live: false };
  if (read.kind === "broken") {
    await removeState(stateDir);
    return { live: false, staleCleaned: `removed a broken state file: ${read.problem}` };
  }
  if (!isOurServer(read.state)) {
    await removeState(stateDir);
    return { live: false, state: read.state, staleCleaned: staleMessage(read.state) };
  }
  return { live: true, state: read.state };
}

export interface StatusResult {
  running: boolean;
  /** Answers /health (only when running). */
  healthy?: boolean;
  state?: ServerState;
  /** From /actuator/info when it answers. */
  version?: string;
  staleCleaned?: string;
}

export async function serverStatus(opts: { stateDir: string }): Promise<StatusResult> {
  const found = await liveState(opts.stateDir);
  if (!found.live) return { running: false, state: found.state, staleCleaned: found.staleCleaned };
  const state = found.state;
  const client = new ConductorClient({ serverUrl: state.url });
  try {
    const healthy = await client.healthy(3000);
    const version = healthy ? ((await client.serverVersion()) ?? state.version) : state.version;
    return { running: true, healthy, state, version };
  } finally {
    client.close();
  }
}

const MENDER_BOOT = fileURLToPath(new URL("./mender-boot.mjs", import.meta.url));

/**
 * Start the workflow mender (src/server/mender-process.ts) beside the server with this pid; its
 * lines go to mender.log next to the server's log. It ends by itself when that server is gone.
 */
function startMender(stateDir: string, serverPid: number, detached: boolean): number | undefined {
  const logFd = openSync(path.join(serverFiles(stateDir).dir, "mender.log"), "a");
  try {
    const child = spawn(process.execPath, [MENDER_BOOT, stateDir, String(serverPid)], { detached, stdio: ["ignore", logFd, logFd] });
    child.on("error", () => {}); // no node to run: the server runs without its mender
    if (detached) child.unref();
    return child.pid;
  } finally {
    closeSync(logFd);
  }
}

function stopMender(pid: number): void {
  try {
    // only if it is still our mender (the pid may have been reused)
    if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("mender-boot")) process.kill(pid, "SIGTERM");
  } catch {
    // gone already, or no /proc: it stops by itself within a second of the server
  }
}

/** SIGTERM, wait up to timeoutMs, then SIGKILL. Returns true when it had to kill. */
async function killAndWait(pid: number, timeoutMs: number, say?: (line: string) => void): Promise<boolean> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return false;
    await sleep(100);
  }
  say?.(`  still running after ${Math.round(timeoutMs / 1000)} s: killing it`);
  signal("SIGKILL");
  const hardDeadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < hardDeadline) await sleep(100);
  return true;
}

function staleMessage(state: ServerState): string {
  return `removed a stale state file: the server it names (pid ${state.pid}, ${state.url}) is no longer running; it may have crashed, see ${state.logFile}`;
}

function hintFromLog(logFile: string, from: number): string {
  const text = tailLines(logFile, 200, from);
  if (/Address already in use|Port \d+ was already in use|BindException/i.test(text)) {
    return "\nIts port is taken: choose another with --port <n> (--port 0 picks a free one)";
  }
  if (/UnsupportedClassVersionError/.test(text)) {
    return "\nThis Conductor needs a newer Java: point JAVA_HOME or --java at a newer JDK, or choose an older --conductor-version";
  }
  if (/OutOfMemoryError/.test(text)) return "\nIt ran out of memory: raise --heap (e.g. --heap 2g)";
  return "";
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  | ${l}`)
    .join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
