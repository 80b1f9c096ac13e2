/**
 * A lean in-process double of Conductor's task endpoints with a queue of `total` tasks shaped like
 * the ones a real server hands out (conductor-task.ts):
 *  - a batch poll takes what is left, up to its `count`; an empty one answers [] after its `timeout`;
 *  - update-v2 answers the slot's next task, or 204 once the queue is empty;
 *  - POST /tasks answers the task id as text, as Conductor does.
 * Each answer comes after `delayMs` (0: at once). It records nothing but a few counters (`requests`),
 * so that neither a GC count nor a CPU figure sees the double's own memory: callers count through
 * the hooks. For the overhead benchmark and the runtime's GC test; never to claim Conductor
 * behaviour (the project's HttpDouble, test/support/http-double.ts, is the one for scripted answers
 * and recorded requests).
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { conductorTask } from "./conductor-task.ts";

export interface TaskQueueDoubleOptions {
  taskName: string;
  total: number;
  delayMs: number;
  /** Each task's inputData carries a string of about this many KB (default 0: the template's input). */
  inputKb?: number;
  /** Called when the first task is handed out. */
  onFirstTask?: () => void;
  /** Called for each result that arrives (update-v2 or POST /tasks). */
  onResult?: () => void;
}

/** What the worker asked for, counted as it arrived. */
export interface TaskQueueRequests {
  /** Batch polls, and those that found nothing (answered [] after their timeout). */
  polls: number;
  emptyPolls: number;
  /** Tasks handed out by polls (the rest came back in update-v2 answers). */
  polledTasks: number;
  /** Results by way: update-v2, and POST /tasks. */
  updateV2: number;
  post: number;
}

export interface TaskQueueDouble {
  /** Base URL, without /api. */
  readonly url: string;
  readonly requests: TaskQueueRequests;
  close(): void;
}

export async function startTaskQueueDouble(opts: TaskQueueDoubleOptions): Promise<TaskQueueDouble> {
  const template = conductorTask(opts.taskName, opts.inputKb ? { inputData: { blob: "x".repeat(opts.inputKb * 1024) } } : {});
  const task = () => JSON.stringify({ ...template, taskId: randomUUID(), workflowInstanceId: randomUUID(), scheduledTime: Date.now() });
  const later = (f: () => void) => (opts.delayMs > 0 ? setTimeout(f, opts.delayMs) : f());
  let handedOut = 0;
  const requests: TaskQueueRequests = { polls: 0, emptyPolls: 0, polledTasks: 0, updateV2: 0, post: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://double");
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      const json = (status: number, text: string) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(text);
      };
      if (url.pathname.startsWith("/api/tasks/poll/batch/")) {
        const count = Math.min(Number(url.searchParams.get("count") ?? 1), opts.total - handedOut);
        requests.polls++;
        if (count <= 0) {
          requests.emptyPolls++;
          setTimeout(() => json(200, "[]"), Number(url.searchParams.get("timeout") ?? 100));
          return;
        }
        if (handedOut === 0) opts.onFirstTask?.();
        handedOut += count;
        requests.polledTasks += count;
        const text = `[${Array.from({ length: count }, task).join(",")}]`;
        later(() => json(200, text));
      } else if (url.pathname === "/api/tasks/update-v2") {
        requests.updateV2++;
        opts.onResult?.();
        if (handedOut < opts.total) {
          handedOut++;
          const text = task();
          later(() => json(200, text));
        } else later(() => res.writeHead(204).end());
      } else if (url.pathname === "/api/tasks" && req.method === "POST") {
        requests.post++;
        opts.onResult?.();
        const id = (JSON.parse(body) as { taskId: string }).taskId;
        later(() => {
          res.writeHead(200, { "content-type": "text/plain" });
          res.end(id);
        });
      } else if (url.pathname === "/health") json(200, '{"healthy":true}');
      else if (url.pathname === "/api/admin/config") json(200, '{"version":"double"}');
      else json(200, "{}");
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
