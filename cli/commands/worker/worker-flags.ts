/**
 * The flags that override every selected worker's settings, shared by `worker start` and
 * `worker exec`: declared, checked (usage error, exit 2) and turned into WorkerOverrides once.
 */
import type { Argv } from "yargs";
import type { WorkerOverrides } from "../../../src/runtime/settings.ts";
import { UserError } from "../../output.ts";

export interface WorkerFlags {
  concurrency?: number;
  pollInterval?: number;
  pollTimeout?: number;
  domain?: string;
  workerId?: string;
  execTimeout?: number;
}

export function workerFlags<T>(y: Argv<T>, describe: { concurrency: string; domain: string; execTimeout: string }): Argv<T> {
  return y
    .option("concurrency", { type: "number", describe: describe.concurrency })
    .option("poll-interval", { type: "number", describe: "pause after an empty poll, in milliseconds" })
    .option("poll-timeout", { type: "number", describe: "long-poll wait on the server, in milliseconds (0-5000)" })
    .option("domain", { type: "string", describe: describe.domain })
    .option("worker-id", { type: "string", describe: "worker id reported to Conductor (default: hostname-pid)" })
    .option("exec-timeout", { type: "number", describe: describe.execTimeout }) as Argv<T>;
}

/** Check the values (`extra` first; a usage error names the flag and the range), then the overrides they make. */
export function workerOverrides(argv: WorkerFlags, extra: Array<[flag: string, value: number | undefined, min: number, whole: boolean]> = []): WorkerOverrides {
  const checks: Array<[string, number | undefined, number, number, boolean]> = [
    ...extra.map(([f, v, min, whole]) => [f, v, min, Infinity, whole] as [string, number | undefined, number, number, boolean]),
    ["--concurrency", argv.concurrency, 1, Infinity, true],
    ["--poll-interval", argv.pollInterval, 0, Infinity, false],
    ["--poll-timeout", argv.pollTimeout, 0, 5000, false],
    ["--exec-timeout", argv.execTimeout, 0, Infinity, false],
  ];
  for (const [flag, v, min, max, whole] of checks) {
    if (v !== undefined && (!Number.isFinite(v) || v < min || v > max || (whole && !Number.isInteger(v)))) {
      throw new UserError(`${flag} must be a number${max < Infinity ? ` between ${min} and ${max}` : ` >= ${min}`}${whole ? " (whole)" : ""}, got ${String(v)}`, 2);
    }
  }
  const overrides: WorkerOverrides = {
    concurrency: argv.concurrency,
    pollIntervalMs: argv.pollInterval,
    pollTimeoutMs: argv.pollTimeout,
    domain: argv.domain,
    workerId: argv.workerId,
    execTimeoutSeconds: argv.execTimeout,
  };
  for (const k of Object.keys(overrides) as Array<keyof WorkerOverrides>) if (overrides[k] === undefined) delete overrides[k];
  return overrides;
}
