// idflow's runtime through its programmatic API (createWorkers), in plain node: the same packed
// package and the same no-op task as the `idflow` contender, without the CLI and without tsx (the
// task is JavaScript, given in code). Against `idflow` it measures what `worker start`'s process
// (the CLI, tsx's module hooks, their heap) adds per task. Runs in the package's scratch project,
// where "idflow" is the installed package. Stops on SIGTERM (handleSignals), as `worker start` does.
import { createWorkers, workerTask } from "idflow";

const name = process.env.BENCH_TASK_NAME ?? "bench_noop";
// BENCH_OUTPUT_KB=<n>: about n KB of JSON per task, the same rows as bench_noop.ts makes.
const outputRows = Math.round(Number(process.env.BENCH_OUTPUT_KB ?? 0) * 10);
const output = () =>
  outputRows
    ? { rows: Array.from({ length: outputRows }, (_, i) => ({ id: i, name: `row-${i}`, score: i / 7, tags: ["alpha", "beta"], active: i % 2 === 0 })) }
    : {};
const noop = workerTask({ name, retryCount: 0, responseTimeoutSeconds: 3600 })(async () => output());

const workers = await createWorkers({
  server: { url: process.env.CONDUCTOR_SERVER_URL },
  tasks: [noop],
  workers: {
    [name]: {
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? 1),
      pollIntervalMs: Number(process.env.BENCH_POLL_INTERVAL_MS ?? 100),
      pollTimeoutMs: Number(process.env.BENCH_POLL_TIMEOUT_MS ?? 100),
    },
  },
  logger: false,
  handleSignals: true,
});
await workers.finished;
