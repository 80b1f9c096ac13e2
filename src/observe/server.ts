/**
 * The observation endpoint of a worker process: one small HTTP server (node:http) on
 * 127.0.0.1 unless told otherwise, serving
 *   GET /metrics        Prometheus text (prom-client)
 *   GET /health/live    200 or 503 with a JSON body saying why
 *   GET /health/ready   200 or 503 with a JSON body saying why
 * It is started before the workers (so a taken port fails before any task is taken) and stays
 * up through the drain until the process exits, so a probe sees 503 while the run drains.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RuntimeEvents } from "../runtime/events.ts";
import type { WorkerRun } from "../runtime/handler.ts";
import { WorkerHealth, type HealthOptions } from "./health.ts";
import { WorkerMetrics } from "./metrics.ts";
import { ObserveOptionError } from "./errors.ts";
import { snapshotOf, type WorkerSnapshot } from "./snapshot.ts";

/** Where the endpoint listens unless told otherwise: this machine only. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";

export interface ObserveServerOptions {
  events: RuntimeEvents;
  port: number;
  host?: string;
  /** Collect Node's process metrics too (default true). */
  defaultMetrics?: boolean;
  health?: Omit<HealthOptions, "events" | "snapshot">;
}

export class ObserveServer {
  readonly metrics: WorkerMetrics;
  readonly health: WorkerHealth;
  private run?: Pick<WorkerRun, "workers" | "stats">;

  private constructor(
    private readonly server: http.Server,
    opts: ObserveServerOptions,
  ) {
    const snapshot = (): WorkerSnapshot | undefined => (this.run ? snapshotOf(this.run) : undefined);
    this.metrics = new WorkerMetrics({ events: opts.events, snapshot, defaultMetrics: opts.defaultMetrics });
    this.health = new WorkerHealth({ events: opts.events, snapshot, ...opts.health });
    server.on("request", (req, res) => void this.handle(req, res));
  }

  /** Listen now; a port that is taken or a host that cannot be bound is an ObserveOptionError naming the flag. */
  static async start(opts: ObserveServerOptions): Promise<ObserveServer> {
    const host = opts.host ?? DEFAULT_METRICS_HOST;
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new ObserveOptionError(`--metrics-port must be a whole number between 0 and 65535 (0 picks a free port), got ${String(opts.port)}`);
    }
    const server = http.createServer();
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const why =
          err.code === "EADDRINUSE"
            ? `port ${opts.port} on ${host} is already in use: pick another --metrics-port (0 picks a free one)`
            : err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND"
              ? `cannot listen on ${host}: --metrics-host must be an address of this machine (default ${DEFAULT_METRICS_HOST})`
              : `cannot serve metrics on ${host}:${opts.port}: ${err.message}`;
        reject(new ObserveOptionError(why));
      };
      server.once("error", onError);
      server.listen(opts.port, host, () => {
        server.off("error", onError);
        resolve();
      });
    });
    return new ObserveServer(server, opts);
  }

  /** The running workers whose slots the gauges and health checks read. */
  attach(run: Pick<WorkerRun, "workers" | "stats">): void {
    this.run = run;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "application/json", JSON.stringify({ error: "only GET" }));
      if (path === "/metrics") return send(res, 200, this.metrics.contentType, await this.metrics.text());
      if (path === "/health/live" || path === "/health/ready" || path === "/health") {
        const live = this.health.liveness();
        if (path === "/health/live")
          return send(res, live.live ? 200 : 503, "application/json", JSON.stringify({ status: live.live ? "UP" : "DOWN", ...live }));
        const ready = this.health.readiness();
        if (path === "/health/ready")
          return send(res, ready.ready ? 200 : 503, "application/json", JSON.stringify({ status: ready.ready ? "UP" : "DOWN", ...ready }));
        const ok = live.live && ready.ready;
        return send(res, ok ? 200 : 503, "application/json", JSON.stringify({ status: ok ? "UP" : "DOWN", live, ready }));
      }
      send(res, 404, "application/json", JSON.stringify({ error: `no such endpoint ${path}: try /metrics, /health/live, /health/ready` }));
    } catch (err) {
      send(res, 500, "application/json", JSON.stringify({ error: (err as Error).message }));
    }
  }

  async close(): Promise<void> {
    this.metrics.close();
    this.health.close();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
