// A minimal hand-written worker: the floor the server allows. No framework, one keep-alive
// HTTP agent, a no-op task. Two protocols (BENCH_PROTOCOL):
//   post: batch poll for the free slots, then POST /tasks for each result;
//   v2:   batch poll for the free slots, then POST /tasks/update-v2 for each result, which
//         hands back the slot's next task (chaining) until it answers 204.
// While tasks flow it polls with a 0 ms server wait; after an empty poll it long-polls for one
// task (BENCH_POLL_TIMEOUT_MS) and sleeps BENCH_POLL_INTERVAL_MS. Stops on SIGTERM.
// BENCH_HTTP=undici sends the same calls through undici's Pool (its dispatch callbacks, as idflow's
// client does) instead of node:http.
// BENCH_DURABLE_DIR=<dir> adds the two things idflow does per task that the plain loop does not,
// in their simplest form: each result is appended to a journal file there (one write, with the
// done marks of answered results riding along) before it is sent, and the no-op runs inside an
// AsyncLocalStorage context (which turns on Node's promise hooks for the whole process).
// BENCH_GARBAGE_KB=<n>: each task also makes n × 32 small objects ({ i, task }, in an array), held
// until its result is answered: what allocating more per task, as idflow does, costs the same loop.
// V8 counts about 1.5 KB of heap per n with the array (the overhead benchmark's --gc gives it).
import { AsyncLocalStorage } from "node:async_hooks";
import { openSync, writeSync } from "node:fs";
import http from "node:http";
import path from "node:path";

const base = new URL(`${process.env.CONDUCTOR_SERVER_URL.replace(/\/+$/, "").replace(/\/api$/, "")}/api/`);
const taskType = process.env.BENCH_TASK_NAME;
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 1);
const pollIntervalMs = Number(process.env.BENCH_POLL_INTERVAL_MS ?? 100);
const pollTimeoutMs = Number(process.env.BENCH_POLL_TIMEOUT_MS ?? 100);
const protocol = process.env.BENCH_PROTOCOL ?? "post";
const workerId = `loop-${protocol}-${process.pid}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency + 2 });
const durableDir = process.env.BENCH_DURABLE_DIR;
const journal = durableDir ? openSync(path.join(durableDir, "journal.jsonl"), "a") : undefined;
const context = durableDir ? new AsyncLocalStorage() : undefined;
let doneMarks = "";
const garbageObjects = Math.round((Number(process.env.BENCH_GARBAGE_KB ?? 0) * 1024) / 32);
const garbage = (task) => {
  const held = new Array(garbageObjects);
  for (let i = 0; i < garbageObjects; i++) held[i] = { i, task };
  return held;
};
// BENCH_OUTPUT_KB=<n>: each task returns about n KB of JSON (the same rows as the idflow task's).
const outputRows = Math.round(Number(process.env.BENCH_OUTPUT_KB ?? 0) * 10);
const noop = () =>
  outputRows
    ? { rows: Array.from({ length: outputRows }, (_, i) => ({ id: i, name: `row-${i}`, score: i / 7, tags: ["alpha", "beta"], active: i % 2 === 0 })) }
    : {};

// BENCH_HTTP=undici: the same calls through undici's Pool, driven by its dispatch callbacks as
// idflow's client does (src/conductor/client.ts), instead of node:http.
const pool =
  process.env.BENCH_HTTP === "undici" ? new (await import("undici")).Pool(base.origin, { connections: concurrency + 2, keepAliveTimeout: 10_000 }) : undefined;

function undiciRequest(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    let status = 0;
    const chunks = [];
    pool.dispatch(
      { method, path: base.pathname + path, headers: data ? ["content-type", "application/json"] : [], body: data },
      {
        onConnect() {},
        onHeaders(s) {
          status = s;
          return true;
        },
        onData(c) {
          chunks.push(c);
          return true;
        },
        onComplete() {
          const text = chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8");
          if (status >= 400) reject(new Error(`${method} ${path}: ${status} ${text.slice(0, 200)}`));
          else resolve({ status, text });
        },
        onError: reject,
      },
    );
  });
}

function request(method, path, body) {
  if (pool) return undiciRequest(method, path, body);
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      new URL(path, base),
      { method, agent, headers: data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {} },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode >= 400) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
          else resolve({ status: res.statusCode, text });
        });
      },
    );
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

let stopping = false;
let inFlight = 0;
let wake;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Send a result; a failed request is retried (every 100 ms, up to a minute) so no task is left IN_PROGRESS. */
async function send(path, result) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request("POST", path, result);
    } catch (err) {
      console.error(`${String(err)} (attempt ${attempt})`);
      if (attempt >= 600) throw err;
      await sleep(100);
    }
  }
}

async function runSlot(task) {
  inFlight++;
  try {
    while (task) {
      const current = task;
      const outputData = context ? await context.run(current, () => Promise.resolve().then(() => noop(current.inputData))) : noop(current.inputData);
      const result = { taskId: task.taskId, workflowInstanceId: task.workflowInstanceId, workerId, status: "COMPLETED", outputData };
      const held = garbageObjects ? garbage(current) : undefined;
      if (journal !== undefined) {
        writeSync(journal, `${doneMarks}${JSON.stringify({ p: result.taskId, r: result })}\n`);
        doneMarks = "";
      }
      if (protocol === "v2" && !stopping) {
        const r = await send("tasks/update-v2", result);
        task = r.status === 200 && r.text ? JSON.parse(r.text) : undefined;
      } else {
        await send("tasks", result);
        task = undefined;
      }
      void held?.length; // read after the answer, so the objects stay alive across it
      if (journal !== undefined) doneMarks += `{"d":"${result.taskId}"}\n`;
    }
  } catch (err) {
    console.error(String(err));
  } finally {
    inFlight--;
    wake?.();
  }
}

async function loop() {
  let busy = false;
  while (!stopping) {
    const free = concurrency - inFlight;
    if (free <= 0) {
      await new Promise((r) => (wake = r));
      wake = undefined;
      continue;
    }
    const count = busy ? free : 1;
    const timeout = busy && free > 1 ? 0 : pollTimeoutMs;
    let tasks = [];
    try {
      const r = await request("GET", `tasks/poll/batch/${encodeURIComponent(taskType)}?workerid=${workerId}&count=${count}&timeout=${timeout}`);
      tasks = r.text ? JSON.parse(r.text) : [];
    } catch (err) {
      console.error(String(err));
      await sleep(pollIntervalMs);
      continue;
    }
    for (const t of tasks) void runSlot(t);
    busy = tasks.length > 0;
    if (!busy) await sleep(pollIntervalMs);
  }
}

process.on("SIGTERM", async () => {
  stopping = true;
  wake?.();
  while (inFlight > 0) await sleep(10);
  process.exit(0);
});
console.error(`loop worker (${protocol}) polling ${taskType}, concurrency ${concurrency}`);
void loop();
