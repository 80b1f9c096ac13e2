/** The benchmarks' shared flag checks (peers, overhead): a bad value is named and the run exits 2. */
import { CONTENDERS } from "./contenders.ts";

/** A whole number >= 0 from a flag's text, or `d` when the flag is absent. */
export function wholeNumber(v: string | undefined, d: number, what: string, log: (line: string) => void): number {
  if (v === undefined) return d;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) {
    log(`--${what} must be a whole number >= 0, got ${v}`);
    process.exit(2);
  }
  return x;
}

/** Exit 2 when any of `ids` is not a contender of bench/peers/contenders.ts (or of `known`, when given). */
export function checkContenderIds(ids: string[] | undefined, log: (line: string) => void, known = CONTENDERS.map((c) => c.id)): void {
  const unknown = ids?.filter((id) => !known.includes(id)) ?? [];
  if (unknown.length) {
    log(`unknown contender(s) ${unknown.join(", ")}; known: ${known.join(", ")}`);
    process.exit(2);
  }
}

/**
 * The variables that change what a contender runs (its Node flags, the other checkout, CPU
 * profiles), as they were set: written before the command in a run's raw JSON, so a figure read
 * later says under which flags it was measured.
 */
const CONTENDER_ENV = ["BENCH_NODE_FLAGS", "BENCH_IDFLOW_NODE_FLAGS", "BENCH_IDFLOW_OTHER", "BENCH_CPU_PROF", "BENCH_CPU_PROF_INTERVAL"];

/** `npm run bench -- <name> <this run's arguments>`, preceded by CONTENDER_ENV's variables that are set. */
export function benchCommand(name: string, env: NodeJS.ProcessEnv = process.env, args = process.argv.slice(2)): string {
  const set = CONTENDER_ENV.filter((k) => env[k] !== undefined).map((k) => `${k}=${JSON.stringify(env[k])} `);
  return `${set.join("")}npm run bench -- ${name} ${args.join(" ")}`.trim();
}
