// The peers benchmark's no-op task for `idflow worker start`, named by BENCH_TASK_NAME. The
// benchmark copies this folder beside the packed package (bench/peers/package.ts), where
// "idflow" is the installed package, as in a user's project.
import { workerTask } from "idflow";

export const benchNoop = workerTask({ name: process.env.BENCH_TASK_NAME ?? "bench_noop", retryCount: 0, responseTimeoutSeconds: 3600 })(async () => ({}));
