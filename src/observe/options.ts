/**
 * The options of `worker start` that turn the metrics and health endpoint on: plain fields,
 * declared once here with their defaults, read from flags, the environment or the
 * configuration file by whoever builds the worker-start options.
 */
import { ObserveOptionError } from "./errors.ts";

export interface ObserveOptions {
  /** Port for /metrics and /health/* (0 picks a free one); unset: no endpoint. Env IDFLOW_METRICS_PORT. */
  metricsPort?: number;
  /** Interface the endpoint listens on. Env IDFLOW_METRICS_HOST. Default 127.0.0.1 (this machine only). */
  metricsHost?: string;
}

export const DEFAULT_METRICS_HOST = "127.0.0.1";

/** Flags beat the environment; a bad value is an error naming where it came from. */
export function resolveObserveOptions(flags: ObserveOptions, env: NodeJS.ProcessEnv = process.env): ObserveOptions {
  let port = flags.metricsPort;
  let where = "--metrics-port";
  if (port === undefined && env.IDFLOW_METRICS_PORT !== undefined && env.IDFLOW_METRICS_PORT.trim() !== "") {
    where = "IDFLOW_METRICS_PORT";
    port = Number(env.IDFLOW_METRICS_PORT.trim());
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new ObserveOptionError(`${where} must be a whole number between 0 and 65535 (0 picks a free port), got ${JSON.stringify(where === "IDFLOW_METRICS_PORT" ? env.IDFLOW_METRICS_PORT : port)}`);
  }
  const host = flags.metricsHost ?? (env.IDFLOW_METRICS_HOST?.trim() || undefined);
  if (host !== undefined && port === undefined) {
    throw new ObserveOptionError(`${flags.metricsHost !== undefined ? "--metrics-host" : "IDFLOW_METRICS_HOST"} is set but no metrics port is: add --metrics-port <port> (or IDFLOW_METRICS_PORT)`);
  }
  return port === undefined ? {} : { metricsPort: port, metricsHost: host ?? DEFAULT_METRICS_HOST };
}
