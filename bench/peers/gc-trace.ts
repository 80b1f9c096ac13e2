/**
 * V8's `--trace-gc-nvp` lines, read back into figures per task. Each line is one collection in one
 * isolate: `[pid:isolate(:n)]   1344 ms: pause=2.6 ... gc=s ... allocated=7923 promoted=0 ...`,
 * where the time counts from the isolate's start, `gc` is the kind (`s` a scavenge of the young
 * generation, `mc` a full mark-compact, `mmc` a minor mark-compact), `pause` the main thread's
 * pause in ms, `allocated` the bytes allocated on the heap since the collection before and
 * `promoted` the bytes moved from the young generation to the old one.
 *
 * Allocation per task is not a timing: a change to the hot path that allocates less shows as a
 * smaller figure on every run, where its effect on CPU per task can hide in the runs' spread.
 */

export interface GcEvent {
  pid: number;
  /** ms since the isolate started */
  atMs: number;
  kind: string;
  pauseMs: number;
  allocated: number;
  promoted: number;
}

const LINE = /^\[(\d+):[^\]]*\]\s+([\d.]+) ms: (.*)$/;

/** The collections of `pid` in a trace (other processes' lines and anything that is not an nvp line are skipped). */
export function parseGcTrace(text: string, pid: number): GcEvent[] {
  const out: GcEvent[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (!m || Number(m[1]) !== pid) continue;
    const kv = new Map<string, string>();
    for (const pair of m[3].split(" ")) {
      const eq = pair.indexOf("=");
      if (eq > 0) kv.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const kind = kv.get("gc");
    if (!kind) continue;
    out.push({
      pid,
      atMs: Number(m[2]),
      kind,
      pauseMs: Number(kv.get("pause") ?? 0),
      allocated: Number(kv.get("allocated") ?? 0),
      promoted: Number(kv.get("promoted") ?? 0),
    });
  }
  return out;
}

export interface GcFigures {
  /** KB allocated on the heap per task (null: fewer than two collections in the window). */
  allocatedKbPerTask: number | null;
  /** Collections of the young generation per 1000 tasks. */
  youngGcsPer1000Tasks: number;
  /** Full collections (mark-compact) in the window. */
  fullGcs: number;
  /** KB promoted to the old generation per task. */
  promotedKbPerTask: number;
  /** The main thread's GC pauses, µs per task. */
  gcPauseUsPerTask: number;
}

/**
 * Figures over a window of the isolate's clock [fromMs, toMs] in which `tasks` tasks ran at a
 * steady pace. Allocation is a rate between the window's first and last collections (each line
 * gives the bytes since the one before), so where the window's edges fall between two collections
 * does not matter; counts and pauses are those of the collections inside the window.
 */
export function gcFigures(events: GcEvent[], fromMs: number, toMs: number, tasks: number): GcFigures {
  const inside = events.filter((e) => e.atMs >= fromMs && e.atMs <= toMs);
  const per = (x: number) => (tasks > 0 ? x / tasks : 0);
  let allocatedKbPerTask: number | null = null;
  if (inside.length >= 2 && tasks > 0 && toMs > fromMs) {
    const span = inside[inside.length - 1].atMs - inside[0].atMs;
    const bytes = inside.slice(1).reduce((s, e) => s + e.allocated, 0);
    const tasksInSpan = (tasks * span) / (toMs - fromMs);
    if (span > 0) allocatedKbPerTask = +(bytes / 1024 / tasksInSpan).toFixed(2);
  }
  return {
    allocatedKbPerTask,
    youngGcsPer1000Tasks: +(per(inside.filter((e) => e.kind === "s" || e.kind === "mmc").length) * 1000).toFixed(2),
    fullGcs: inside.filter((e) => e.kind === "mc").length,
    promotedKbPerTask: +per(inside.reduce((s, e) => s + e.promoted, 0) / 1024).toFixed(3),
    gcPauseUsPerTask: +per(inside.reduce((s, e) => s + e.pauseMs, 0) * 1000).toFixed(2),
  };
}
