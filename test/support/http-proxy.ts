/**
 * A pass-through HTTP proxy in front of the real Conductor, for tests that need the server to
 * "go away" and come back without stopping it: while `down` is true every request is dropped
 * (the connection closes without an answer, as when the server is gone); otherwise requests
 * and answers pass unchanged.
 *
 *   const proxy = await HttpProxy.start(testServerUrl());
 *   const client = new ConductorClient({ serverUrl: proxy.url });
 *   proxy.down = true; ...; proxy.down = false;
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export class HttpProxy {
  down = false;
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(
    private readonly server: http.Server,
    private readonly target: URL,
  ) {
    server.on("request", (req, res) => this.forward(req, res));
  }

  static async start(targetUrl: string): Promise<HttpProxy> {
    const server = http.createServer();
    const proxy = new HttpProxy(server, new URL(targetUrl));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const upstream = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.target.host },
        agent: this.agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => req.socket.destroy());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
