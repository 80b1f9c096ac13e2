/**
 * The logger factory every command that logs uses (pino). Structured lines, JSON by default
 * when stderr is not a terminal, human-readable (pino-pretty) on a TTY. Logs go to stderr so
 * that `--json` output on stdout stays machine-readable.
 */
import { createRequire } from "node:module";
import pino, { type Logger, type DestinationStream } from "pino";

/** pino-pretty is loaded only for a pretty logger (a worker logging JSON never needs it). */
const requireCjs = createRequire(import.meta.url);

export type { Logger } from "pino";
export type LogFormat = "json" | "pretty";
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export const LOG_LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export interface LoggerOptions {
  /** Lowest level written (default "info", or LOG_LEVEL / IDFLOW_LOG_LEVEL). */
  level?: LogLevel;
  /** "pretty" on a TTY, "json" otherwise (default: decided by whether stderr is a TTY). */
  format?: LogFormat;
  /** Where lines go (default: stderr). Tests pass their own stream. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Fields bound to every line. */
  base?: Record<string, unknown>;
}

/** A pino logger with idflow's defaults; child loggers bind worker, taskId and workflowId. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const envLevel = (process.env.IDFLOW_LOG_LEVEL ?? process.env.LOG_LEVEL) as LogLevel | undefined;
  const level = opts.level ?? (envLevel && LOG_LEVELS.includes(envLevel) ? envLevel : "info");
  const format = opts.format ?? (process.stderr.isTTY ? "pretty" : "json");
  const pinoOpts = {
    level,
    base: opts.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    // Never write credentials, whatever a caller binds.
    redact: { paths: ["keySecret", "*.keySecret", "token", "*.token", "headers.X-Authorization"], censor: "[redacted]" },
  };
  if (format === "pretty") {
    const pretty = requireCjs("pino-pretty") as typeof import("pino-pretty");
    const stream = pretty({
      sync: true,
      destination: (opts.destination as NodeJS.WritableStream | undefined) ?? 2,
      colorize: !process.env.NO_COLOR && (opts.destination ? false : Boolean(process.stderr.isTTY)),
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
    });
    return pino(pinoOpts, stream);
  }
  const dest = opts.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(pinoOpts, dest as DestinationStream);
}

/** A logger that writes nothing (the default for in-process use without a logger). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** What per-task code logs with: a pino logger, or a TaskLog that makes its child only when a line is written. */
export type TaskLogger = Pick<Logger, "debug" | "info" | "warn" | "error">;

/**
 * A task's logger (its lines carry taskId and workflowId) whose pino child is made on the first
 * line at an enabled level. A child per task cost more than the rest of a no-op task's bookkeeping
 * (pino serialises and redacts the bindings at once), and most tasks write no line at all.
 */
export class TaskLog implements TaskLogger {
  private child?: Logger;

  constructor(
    private readonly parent: Logger,
    private readonly taskId: string,
    private readonly workflowId: string,
  ) {}

  private write(level: "debug" | "info" | "warn" | "error", args: unknown[]): void {
    if (!this.parent.isLevelEnabled(level)) return;
    const l = (this.child ??= this.parent.child({ taskId: this.taskId, workflowId: this.workflowId }));
    (l[level] as (...a: unknown[]) => void).apply(l, args);
  }

  debug(...args: unknown[]): void {
    this.write("debug", args);
  }
  info(...args: unknown[]): void {
    this.write("info", args);
  }
  warn(...args: unknown[]): void {
    this.write("warn", args);
  }
  error(...args: unknown[]): void {
    this.write("error", args);
  }
}
