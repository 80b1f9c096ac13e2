/**
 * Every program runs as the leader of its own process group (spawned `detached`), so that
 * Ctrl-C in the terminal reaches idflow, not the programs (they get the grace period), and so
 * that stopping a program stops everything it started: a signal goes to the whole group.
 * Stopping is SIGTERM to the group, then SIGKILL after a grace delay.
 */
import type { ChildProcess } from "node:child_process";

/** Send `signal` to the process group led by `child`; false when it is already gone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone. Fall back to the leader alone (it may not lead a group on this platform).
    try {
      return child.kill(signal);
    } catch {
      return false;
    }
  }
}

/** True while the child has not exited. */
export function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * SIGTERM the group now, SIGKILL it `graceMs` later if the leader is still there. Resolves when
 * the leader has exited (the SIGKILL also reaches whatever else is left in its group).
 */
export function terminateGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (!alive(child)) {
    signalGroup(child, "SIGKILL"); // leftovers of an exited leader
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      signalGroup(child, "SIGKILL");
      resolve();
    });
    signalGroup(child, "SIGTERM");
  });
}

/** Every live group, SIGKILLed synchronously if idflow exits without stopping them (second Ctrl-C, crash). */
const live = new Set<ChildProcess>();
let hooked = false;

export function trackGroup(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const c of live) signalGroup(c, "SIGKILL");
    });
  }
}
