// The peers benchmark's no-op task for `idflow worker start`, named by BENCH_TASK_NAME. The
// benchmark copies this folder beside the packed package (bench/peers/package.ts), where
// "idflow" is the installed package, as in a user's project.
import { workerTask } from "idflow";

// BENCH_OUTPUT_KB=<n> (the overhead benchmark's --output-kb): each task returns about n KB of
// JSON, made fresh per task, the same rows as bench/peers/workers/loop-worker.mjs makes.
const outputRows = Math.round(Number(process.env.BENCH_OUTPUT_KB ?? 0) * 10);
const output = () =>
  outputRows
    ? { rows: Array.from({ length: outputRows }, (_, i) => ({ id: i, name: `row-${i}`, score: i / 7, tags: ["alpha", "beta"], active: i % 2 === 0 })) }
    : {};

export const benchNoop = workerTask({ name: process.env.BENCH_TASK_NAME ?? "bench_noop", retryCount: 0, responseTimeoutSeconds: 3600 })(async () => output());
