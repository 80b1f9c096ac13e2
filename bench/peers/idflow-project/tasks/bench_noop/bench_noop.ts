// The peers benchmark's no-op task for `idflow worker start`, named by BENCH_TASK_NAME.
import { workerTask } from "../../../../../src/index.ts";

export const benchNoop = workerTask({ name: process.env.BENCH_TASK_NAME ?? "bench_noop", retryCount: 0, responseTimeoutSeconds: 3600 })(async () => ({}));
