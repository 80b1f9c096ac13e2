/**
 * After a test pass: stop the Conductor servers that tests started on their own and left behind
 * when they died mid-run (their temporary folder is gone, so no state file names them any more).
 * A server is reaped only when all of these hold: it is a java running a conductor jar, its
 * working folder (the server folder idflow starts it in) was deleted, and it started after this
 * harness did. A user's own servers never match the last two.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function startTicks(pid: number | "self"): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return undefined;
  }
}

/** Pids of orphaned test servers (see above); none where /proc cannot be read. */
export function orphanedTestServers(): number[] {
  const since = startTicks("self");
  if (since === undefined) return [];
  const found: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  for (const p of pids) {
    const pid = Number(p);
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!/java$/.test(cmd[0] ?? "") || !cmd.some((a) => /conductor[^/]*\.jar$/.test(a))) continue;
      if (!readlinkSync(`/proc/${pid}/cwd`).endsWith(" (deleted)")) continue;
      if ((startTicks(pid) ?? 0) < since) continue;
      found.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** SIGKILL the orphans (their data folder is gone: nothing to shut down cleanly) and say which. */
export function reapOrphanedTestServers(log: (line: string) => void): void {
  const pids = orphanedTestServers();
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (pids.length) log(`stopped ${pids.length} server(s) that tests started and left behind (folder deleted): pid ${pids.join(", ")}`);
}
