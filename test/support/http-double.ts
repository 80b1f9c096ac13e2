/**
 * A small in-process HTTP server for unit tests that need to inject faults a real Conductor
 * will not produce on demand (500s, hangs, dropped connections, auth answers). It records
 * every request. Never use it to claim Conductor behaviour: that is tested on the real server.
 *
 *   const double = await HttpDouble.start();
 *   double.on("GET", "/health", () => ({ status: 200, json: { healthy: true } }));
 *   double.on("GET", /^\/api\/tasks\/poll/, () => ({ status: 500, json: { message: "boom" } }));
 *   double.on("POST", "/api/tasks", () => "drop");  // destroy the socket without an answer
 *   ...; await double.close();
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
}

export type Reply =
  | { status?: number; json?: unknown; text?: string; headers?: Record<string, string>; delayMs?: number }
  /** Close the connection without answering. */
  | "drop"
  /** Never answer (until the double closes). */
  | "hang";

type Handler = (req: RecordedRequest) => Reply | Promise<Reply>;

export class HttpDouble {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: Array<{ method: string; path: string | RegExp; handler: Handler }> = [];
  private readonly hanging = new Set<http.ServerResponse>();

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<HttpDouble> {
    const server = http.createServer();
    const double = new HttpDouble(server);
    server.on("request", (req, res) => void double.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return double;
  }

  /** Base URL, e.g. http://127.0.0.1:40123 (no /api). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answer `method path` (exact path, or a RegExp on the path) with `handler`; later routes win. */
  on(method: string, path: string | RegExp, handler: Handler | Reply): this {
    const h: Handler = typeof handler === "function" ? handler : () => handler;
    this.routes.unshift({ method: method.toUpperCase(), path, handler: h });
    return this;
  }

  /** The recorded requests to one path. */
  calls(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method.toUpperCase() && matches(path, r.path));
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const u = new URL(req.url ?? "/", "http://x");
    const rec: RecordedRequest = { method: req.method ?? "GET", path: u.pathname, query: u.searchParams, headers: req.headers, body };
    try {
      rec.json = body ? JSON.parse(body) : undefined;
    } catch {
      // not JSON
    }
    this.requests.push(rec);
    const route = this.routes.find((r) => r.method === rec.method && matches(r.path, rec.path));
    const reply: Reply = route
      ? await route.handler(rec)
      : { status: 404, json: { status: 404, message: `no route for ${rec.method} ${rec.path} in the HTTP double` } };
    if (reply === "drop") {
      req.socket.destroy();
      return;
    }
    if (reply === "hang") {
      this.hanging.add(res);
      return;
    }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const headers: Record<string, string> = { ...reply.headers };
    let out = "";
    if (reply.json !== undefined) {
      out = JSON.stringify(reply.json);
      headers["content-type"] ??= "application/json";
    } else if (reply.text !== undefined) {
      out = reply.text;
      headers["content-type"] ??= "text/plain";
    }
    res.writeHead(reply.status ?? 200, headers);
    res.end(out);
  }
}

function matches(pattern: string | RegExp, path: string): boolean {
  return typeof pattern === "string" ? pattern === path : pattern.test(path);
}
