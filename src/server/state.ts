/**
 * The state file of the running local server (`.idflow/server.json`): where it listens, its
 * pid, its files. Every other command finds the server through it (see resolveServerUrl).
 * Also: is a pid alive, and is it really our Conductor (a crashed server leaves a stale file).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { serverStateFile } from "../config.ts";

export interface ServerState {
  /** Base URL without /api, e.g. http://127.0.0.1:8080. */
  url: string;
  pid: number;
  port: number;
  /** Conductor version (from the jar resolution or /actuator/info). */
  version?: string;
  jar: string;
  java: string;
  /** true when started with --memory (nothing persists). */
  memory: boolean;
  /** The SQLite file, unless memory. */
  dataFile?: string;
  logFile: string;
  configFile: string;
  /** Why this version runs (the jar named, the version asked for, or the pin for the Java found). */
  versionReason?: string;
  startedAt: string;
  /** "starting" until /health answered, then "running". */
  status: "starting" | "running";
  /** true when started with --foreground (attached to a terminal). */
  foreground?: boolean;
  /** The workflow mender's process (src/server/mender-process.ts), when it runs. */
  menderPid?: number;
}

/** Where the local server keeps its files inside the state dir. */
export function serverFiles(stateDir: string) {
  const dir = path.join(stateDir, "server");
  return {
    dir,
    stateFile: serverStateFile(stateDir),
    configFile: path.join(dir, "conductor.properties"),
    dataFile: path.join(dir, "conductor.db"),
    logFile: path.join(dir, "server.log"),
  };
}

export type StateRead = { kind: "none" } | { kind: "broken"; problem: string } | { kind: "ok"; state: ServerState };

export function readState(stateDir: string): StateRead {
  const file = serverStateFile(stateDir);
  if (!existsSync(file)) return { kind: "none" };
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as ServerState;
    if (typeof state?.pid !== "number" || typeof state?.url !== "string" || typeof state?.port !== "number") {
      return { kind: "broken", problem: `${file} lacks pid, port or url` };
    }
    return { kind: "ok", state };
  } catch (err) {
    return { kind: "broken", problem: `${file} is not valid JSON (${(err as Error).message})` };
  }
}

export async function writeState(stateDir: string, state: ServerState): Promise<void> {
  const file = serverStateFile(stateDir);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, file);
}

export async function removeState(stateDir: string): Promise<void> {
  await rm(serverStateFile(stateDir), { force: true });
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const stateChar = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (stateChar === "Z" || stateChar === "X") return false;
  } catch {
    // no /proc (macOS): trust kill(0)
  }
  return true;
}

/** The command line of a process, or undefined when it cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    try {
      return execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8", timeout: 5000 });
    } catch {
      return undefined;
    }
  }
}

/** True when pid is alive and (as far as we can tell) the java running this state's jar. */
export function isOurServer(state: ServerState): boolean {
  if (!isAlive(state.pid)) return false;
  const cmd = commandLine(state.pid);
  if (cmd === undefined) return true;
  return cmd.includes(state.jar) || (/java/i.test(cmd) && /conductor/i.test(cmd));
}
