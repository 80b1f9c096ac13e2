/**
 * An Express service that runs its idflow workers in its own process:
 *   GET  /health                      200 while the workers poll (503 otherwise), with their counters
 *   POST /approvals {item}            starts the webhook_approval workflow, answers its id
 *   POST /hooks/approval/:workflowId  {approved, by}: completes the workflow's WAIT task "approval"
 * Run it: npx tsx examples/webhook-app/app.ts   (PORT, CONDUCTOR_SERVER_URL as usual)
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import type { Server } from "node:http";
import { createWorkers, TaskNotFoundError, type Workers } from "idflow";

export interface AppOptions {
  /** Conductor URL (default: the usual resolution: CONDUCTOR_SERVER_URL, idflow.config.json, local server). */
  serverUrl?: string;
  port?: number;
  /** Where the result spool goes (default: .idflow under this example). */
  stateDir?: string;
}

export async function startApp(opts: AppOptions = {}): Promise<{ server: Server; url: string; workers: Workers; close(): Promise<void> }> {
  const root = path.dirname(fileURLToPath(import.meta.url));
  const workers = await createWorkers({ root, server: { url: opts.serverUrl }, stateDir: opts.stateDir, upload: true });
  const app = express();
  app.use(express.json());

  app.get("/health", (_req, res) => {
    res.status(workers.isPolling() ? 200 : 503).json({ polling: workers.isPolling(), workers: workers.stats().workers });
  });

  app.post("/approvals", async (req, res, next) => {
    try {
      const workflowId = await workers.client.startWorkflow("webhook_approval", { item: String(req.body?.item ?? "") });
      res.status(201).json({ workflowId });
    } catch (err) {
      next(err);
    }
  });

  app.post("/hooks/approval/:workflowId", async (req, res, next) => {
    try {
      const taskId = await workers.client.completeTaskByRef(req.params.workflowId, "approval", {
        approved: req.body?.approved === true,
        by: String(req.body?.by ?? "anonymous"),
      });
      res.json({ taskId });
    } catch (err) {
      if (err instanceof TaskNotFoundError) res.status(404).json({ error: err.message });
      else next(err);
    }
  });

  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(opts.port ?? 3000, "127.0.0.1", () => resolve(s));
  });
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : opts.port}`;
  return {
    server,
    url,
    workers,
    close: async () => {
      await new Promise((r) => server.close(r));
      await workers.stop(); // running tasks finish and their results are delivered first
    },
  };
}

// Run directly: the app owns its process, so it handles SIGINT/SIGTERM itself.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const running = await startApp({ port: Number(process.env.PORT ?? 3000) });
  console.error(`listening on ${running.url}`);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void running.close().then(() => process.exit(0)));
}
