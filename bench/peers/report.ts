/** Medians per cell and ratios to idflow, as a Markdown table (for docs/performance.md) and JSON. */

export interface Cell {
  shape: "drain" | "trickle" | "long";
  concurrency: number;
  contender: string;
  runs: Array<Record<string, number>>;
  /** Which run of the bench each entry of `runs` comes from (1-based), to pair contenders run by run. */
  runIds?: number[];
  /** Per run, a drain's CPU ms per task in each tenth of its tasks (DrainFigures.cpuMsPerTaskByTenth): raw JSON only. */
  cpuMsPerTaskByTenth?: number[][];
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function medians(cell: Cell): Record<string, number> {
  const keys = Object.keys(cell.runs[0] ?? {});
  return Object.fromEntries(keys.map((k) => [k, +median(cell.runs.map((r) => r[k])).toFixed(3)]));
}

const COLUMNS: Record<Cell["shape"], Array<[string, string]>> = {
  drain: [
    ["tasksPerSecond", "tasks/s"],
    ["cpuMsPerTask", "CPU ms/task"],
    ["steadyCpuMsPerTask", "CPU ms/task, 2nd half"],
    ["serverCpuMsPerTask", "server CPU ms/task"],
    ["peakRssMb", "peak RSS MB"],
  ],
  trickle: [
    ["pickupP50Ms", "pickup p50 ms"],
    ["pickupP99Ms", "pickup p99 ms"],
    ["cpuMsPerTask", "CPU ms/task"],
  ],
  long: [
    ["tasksPerSecond", "tasks/s"],
    ["cpuMsPerTask", "CPU ms/task"],
    ["steadyCpuMsPerTask", "CPU ms/task, 2nd half"],
    ["peakRssMb", "peak RSS MB"],
    ["rssGrowthMb", "RSS growth MB"],
  ],
};

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) : "-");

/** One Markdown table per shape; each figure "value (ratio to idflow)". */
export function markdown(cells: Cell[]): string {
  const out: string[] = [];
  for (const shape of ["drain", "trickle", "long"] as const) {
    const mine = cells.filter((c) => c.shape === shape && c.runs.length > 0);
    if (mine.length === 0) continue;
    const cols = COLUMNS[shape];
    out.push(`\n### ${shape}\n`);
    out.push(`| concurrency | contender | runs | tasks | ${cols.map((c) => c[1]).join(" | ")} |`);
    out.push(`|---|---|---|---|${cols.map(() => "---").join("|")}|`);
    for (const c of mine) {
      const m = medians(c);
      const base = mine.find((x) => x.concurrency === c.concurrency && x.contender === "idflow");
      const b = base ? medians(base) : undefined;
      const figs = cols.map(([k]) => {
        const v = m[k];
        const r = b?.[k] ? v / b[k] : NaN;
        return c.contender === "idflow" || !Number.isFinite(r) ? fmt(v) : `${fmt(v)} (${r.toFixed(2)}×)`;
      });
      out.push(`| ${c.concurrency} | ${c.contender} | ${c.runs.length} | ${m.tasks} | ${figs.join(" | ")} |`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** Figures compared run by run, and which way is better for idflow. */
const HEAD_TO_HEAD: Array<[string, string, "higher" | "lower"]> = [
  ["tasksPerSecond", "tasks/s", "higher"],
  ["steadyCpuMsPerTask", "CPU ms/task, 2nd half", "lower"],
];

/**
 * Drains head to head, run by run: each contender's figure over idflow's in the same run (the
 * same server, minutes apart), the median of those ratios, and in how many runs idflow was
 * better. Between runs a cell's figures spread more than between contenders within one run.
 */
export function headToHead(cells: Cell[]): string {
  const drains = cells.filter((c) => c.shape === "drain" && c.runs.length > 0 && c.runIds);
  const out: string[] = [];
  for (const c of drains) {
    if (c.contender === "idflow") continue;
    const base = drains.find((x) => x.concurrency === c.concurrency && x.contender === "idflow");
    if (!base) continue;
    const figs = HEAD_TO_HEAD.map(([k, , better]) => {
      const ratios: number[] = [];
      let wins = 0;
      c.runIds!.forEach((run, i) => {
        const j = base.runIds!.indexOf(run);
        const v = c.runs[i][k];
        const b = j >= 0 ? base.runs[j][k] : NaN;
        if (!Number.isFinite(v) || !Number.isFinite(b) || b === 0) return;
        ratios.push(v / b);
        if (better === "higher" ? b > v : b < v) wins++;
      });
      return ratios.length ? `${median(ratios).toFixed(2)}× (idflow better in ${wins}/${ratios.length})` : "-";
    });
    out.push(`| ${c.concurrency} | ${c.contender} | ${figs.join(" | ")} |`);
  }
  if (out.length === 0) return "";
  const head = `| concurrency | contender | ${HEAD_TO_HEAD.map(([, label]) => `${label}, ratio to idflow in the same run`).join(" | ")} |`;
  return `\n### drain, run by run\n\n${head}\n|---|---|${HEAD_TO_HEAD.map(() => "---").join("|")}|\n${out.join("\n")}\n`;
}
