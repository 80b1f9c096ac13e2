/**
 * CPU time and resident memory of a whole process tree, read from /proc (Linux), so every
 * contender is measured alike whatever it spawns (Python's TaskHandler forks workers, `worker
 * exec` runs a program per task). CPU counts the live processes' own and reaped children's
 * time (utime+stime+cutime+cstime), so short-lived children are included once they are waited
 * for; RSS is the sum of VmRSS over the live processes.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const PAGE = (() => {
  try {
    return Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()) || 4096;
  } catch {
    return 4096;
  }
})();

interface Stat {
  pid: number;
  ppid: number;
  ticks: number;
  rssPages: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state); field n is rest[n - 3].
    const f = (n: number) => Number(rest[n - 3]);
    return { pid, ppid: f(4), ticks: f(14) + f(15) + f(16) + f(17), rssPages: f(24) };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** The pids of `root` and all its descendants, alive now. */
export function treeStats(root: number): Stat[] {
  const all: Stat[] = [];
  for (const d of readdirSync("/proc")) {
    if (d.charCodeAt(0) < 48 || d.charCodeAt(0) > 57) continue;
    const st = readStat(Number(d));
    if (st) all.push(st);
  }
  const children = new Map<number, Stat[]>();
  for (const s of all) {
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return [];
  const out: Stat[] = [];
  const stack = [rootStat];
  while (stack.length) {
    const s = stack.pop()!;
    out.push(s);
    stack.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

export interface TreeUsage {
  /** CPU time of the tree so far (user + system, reaped children included), ms. */
  cpuMs: number;
  /** Resident memory of the live processes, bytes. */
  rssBytes: number;
  processes: number;
}

export function treeUsage(root: number): TreeUsage {
  const st = treeStats(root);
  let ticks = 0;
  let pages = 0;
  for (const s of st) {
    ticks += s.ticks;
    pages += s.rssPages;
  }
  return { cpuMs: (ticks * 1000) / CLK_TCK, rssBytes: pages * PAGE, processes: st.length };
}

/** Context switches (voluntary and not) so far of every thread of the tree's live processes. */
export function treeContextSwitches(root: number): number {
  let sum = 0;
  for (const { pid } of treeStats(root)) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited meanwhile
    }
    for (const tid of tids) {
      const { voluntary, involuntary } = threadSwitches(pid, tid);
      sum += voluntary + involuntary;
    }
  }
  return sum;
}

/**
 * Times the process's main thread went to sleep and was woken again (its voluntary context
 * switches so far): the event loop's wake-ups, one per return from epoll_wait after a wait, for an
 * I/O answer or a timer. A figure that does not move with the machine's load, where CPU time does:
 * each wake-up costs CPU (caches refilled, the kernel's switch), more on a busy VM host.
 */
export function mainThreadWakeups(pid: number): number {
  return threadSwitches(pid, String(pid)).voluntary;
}

/** One thread's context switches so far, from its status file (zeros once it has ended). */
function threadSwitches(pid: number, tid: string): { voluntary: number; involuntary: number } {
  try {
    const st = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
    return {
      voluntary: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0),
      involuntary: Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0),
    };
  } catch {
    return { voluntary: 0, involuntary: 0 }; // the thread ended meanwhile
  }
}

/** Samples a tree's RSS at an interval, keeping the peak; stop() returns the last reading too. */
export class RssSampler {
  peak = 0;
  last = 0;
  private timer: NodeJS.Timeout;
  constructor(
    private readonly root: number,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    this.sample();
  }
  sample(): number {
    const { rssBytes } = treeUsage(this.root);
    if (rssBytes > 0) {
      this.last = rssBytes;
      if (rssBytes > this.peak) this.peak = rssBytes;
    }
    return rssBytes;
  }
  stop(): { peak: number; last: number } {
    clearInterval(this.timer);
    this.sample();
    return { peak: this.peak, last: this.last };
  }
}
