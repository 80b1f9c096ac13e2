/** Runtime pieces without a server: result mapping, backoff, spool, delivery under faults (a small HTTP double), watchdog. */
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, renameSync } from "node:fs";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
import type { TaskResult } from "../../src/conductor/types.ts";
import { silentLogger } from "../../src/log.ts";
import { backoffDelay } from "../../src/runtime/backoff.ts";
import { ResultDelivery } from "../../src/runtime/delivery.ts";
import { mapError, mapValue, serialise } from "../../src/runtime/executor.ts";
import { OutageTracker } from "../../src/runtime/outage.ts";
import { runWorkers } from "../../src/runtime/handler.ts";
import { DiskQueue, spoolDir, writeSpoolFile } from "../../src/runtime/spool.ts";
import { inProgress } from "../../src/task/results.ts";
import { TerminalError } from "../../src/task/errors.ts";
import { delay, reg, tempStateDir, until } from "../fixtures/runtime/helpers.ts";

const base = { taskId: "t1", workflowInstanceId: "w1", workerId: "me" };
const result = (i: number): TaskResult => ({ taskId: `t${i}`, workflowInstanceId: "w", status: "COMPLETED", outputData: { i } });

/** A tiny stand-in for Conductor's task endpoints whose answers a test scripts. */
async function double(answer: (req: http.IncomingMessage, body: string) => { status: number; body?: string } | "hang") {
  const seen: Array<{ url: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", body });
      const a = answer(req, body);
      if (a === "hang") return;
      res.writeHead(a.status, { "content-type": "application/json" }).end(a.body ?? "");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, seen, url, close: () => new Promise((r) => server.close(r)), kill: () => server.closeAllConnections() };
}

describe("result mapping", () => {
  it("plain object → COMPLETED; primitives wrapped; inProgress → IN_PROGRESS", () => {
    assert.deepEqual(mapValue({ a: 1, d: new Date(0), u: undefined }, base), { ...base, status: "COMPLETED", outputData: { a: 1, d: "1970-01-01T00:00:00.000Z" } });
    assert.deepEqual(mapValue(42, base).outputData, { result: 42 });
    assert.deepEqual(mapValue(undefined, base).outputData, {});
    const r = mapValue(inProgress({ callbackAfterSeconds: 5, output: { p: 1 } }), base);
    assert.equal(r.status, "IN_PROGRESS");
    assert.equal(r.callbackAfterSeconds, 5);
  });
  it("an output JSON cannot carry → FAILED saying so", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const r = mapValue(cyclic, base);
    assert.equal(r.status, "FAILED");
    assert.match(r.reasonForIncompletion!, /cannot be serialised to JSON/);
    assert.equal(serialise({ n: 10n }).ok, false);
  });
  it("errors: FAILED with message and stack in the logs; TerminalError → FAILED_WITH_TERMINAL_ERROR with output", () => {
    const logs: string[] = [];
    const r = mapError(new Error("boom"), base, (l) => logs.push(l));
    assert.equal(r.status, "FAILED");
    assert.equal(r.reasonForIncompletion, "boom");
    assert.match(logs[0], /Error: boom\n\s+at /);
    const t = mapError(new TerminalError("no", { output: { why: "x" } }), base, () => {});
    assert.equal(t.status, "FAILED_WITH_TERMINAL_ERROR");
    assert.deepEqual(t.outputData, { why: "x" });
  });
});

describe("backoff", () => {
  it("grows exponentially with jitter up to the cap", () => {
    assert.equal(backoffDelay(1, { baseMs: 100, capMs: 1000, random: () => 0 }), 50);
    assert.equal(backoffDelay(1, { baseMs: 100, capMs: 1000, random: () => 0.999 }), 100);
    assert.equal(backoffDelay(3, { baseMs: 100, capMs: 1000, random: () => 0.999 }), 400);
    assert.ok(backoffDelay(50, { baseMs: 100, capMs: 1000 }) <= 1000);
  });
});

describe("spool", () => {
  it("claims files in order, skips a torn last line, removes files once handled", () => {
    const dir = spoolDir(tempStateDir());
    writeSpoolFile(dir, [JSON.stringify({ result: result(1) }), JSON.stringify({ result: result(2) })]);
    const second = writeSpoolFile(dir, [JSON.stringify({ result: result(3) })])!;
    appendFileSync(second, '{"result":{"taskId":"t4","work'); // a crash mid-append
    const q = new DiskQueue(dir);
    assert.equal(q.claim(), 2);
    assert.equal(new DiskQueue(dir).claim(), 0, "a live claimant's files are not taken twice");
    const got = q.read(10);
    assert.deepEqual(got.map((g) => g.entry.result.taskId), ["t1", "t2", "t3"]);
    assert.equal(q.corrupt, 1);
    for (const g of got) q.done(g.token);
    assert.deepEqual(readdirSync(dir), []);
  });
  it("files claimed by a dead process are taken over", () => {
    const dir = spoolDir(tempStateDir());
    const f = writeSpoolFile(dir, [JSON.stringify({ result: result(9) })])!;
    renameSync(f, `${f}.claimed-999999`);
    const q = new DiskQueue(dir);
    assert.equal(q.claim(), 1);
    assert.equal(q.read(5)[0].entry.result.taskId, "t9");
  });
});


describe("delivery under faults", () => {
  const doubles: Array<{ close: () => Promise<unknown> }> = [];
  after(() => Promise.all(doubles.map((d) => d.close())));

  async function setup(answer: Parameters<typeof double>[0], extra: { maxInMemory?: number } = {}) {
    const d = await double(answer);
    doubles.push(d);
    const stateDir = tempStateDir();
    const make = () => {
      const c = new ConductorClient({ serverUrl: d.url() });
      const logger = silentLogger();
      return new ResultDelivery({ client: c, logger, outage: new OutageTracker(logger, d.url()), spoolDir: spoolDir(stateDir), backoff: { baseMs: 10, capMs: 50 }, ...extra });
    };
    return { d, make, stateDir };
  }

  it("retries 5xx until the server takes the result, in order; 404 is dropped; 400 becomes a minimal FAILED", async () => {
    let down = true;
    const { d, make } = await setup((req, body) => {
      const r = JSON.parse(body) as TaskResult;
      if (r.taskId === "gone") return { status: 404, body: '{"message":"no task"}' };
      if (r.taskId === "bad" && r.status === "COMPLETED") return { status: 400, body: '{"message":"too big"}' };
      return down ? { status: 503 } : { status: 200, body: r.taskId };
    });
    const delivery = make();
    for (let i = 1; i <= 5; i++) await delivery.deliver(result(i), false);
    await delivery.deliver({ ...result(0), taskId: "gone" });
    await delivery.deliver({ ...result(0), taskId: "bad" });
    assert.equal(delivery.backlog, 7);
    await delay(100);
    down = false;
    await until(() => delivery.idle, 5000, "the backlog to drain");
    const okIds = d.seen.filter((s) => !s.body.includes('"gone"')).map((s) => JSON.parse(s.body) as TaskResult);
    const firstDelivery = okIds.filter((r, i, a) => a.findLastIndex((x) => x.taskId === r.taskId) === i && r.taskId.startsWith("t"));
    assert.deepEqual(firstDelivery.map((r) => r.taskId), ["t1", "t2", "t3", "t4", "t5"], "delivered in order");
    assert.equal(delivery.stats.dropped, 1);
    assert.equal(delivery.stats.downgraded, 1);
    const bad = okIds.filter((r) => r.taskId === "bad").at(-1)!;
    assert.equal(bad.status, "FAILED");
    assert.match(bad.reasonForIncompletion!, /refused.*too big/);
    assert.equal(await delivery.close(1000), 0);
  });

  it("beyond maxInMemory the backlog continues on disk; on close what is left is spooled; the next run delivers it first", async () => {
    let down = true;
    const { make, stateDir, d } = await setup((_req, body) => (down ? { status: 500 } : { status: 200, body: JSON.parse(body).taskId }), { maxInMemory: 3 });
    const first = make();
    for (let i = 1; i <= 10; i++) await first.deliver(result(i));
    assert.equal(first.backlog, 10);
    assert.ok(readdirSync(spoolDir(stateDir)).some((f) => f.includes(".live-")), "overflow on disk");
    assert.equal(await first.close(200), 10);
    assert.deepEqual(readdirSync(spoolDir(stateDir)).filter((f) => f.endsWith(".jsonl")).length, 1);
    down = false;
    d.seen.length = 0;
    const second = make();
    assert.equal(second.recoverSpool(), 1);
    await second.deliver(result(11));
    await until(() => second.idle, 5000, "spool delivered");
    // Delivery is at least once: the closed instance's last request may still reach the server
    // after it was abandoned (Conductor ignores a repeated update of a finished task). What must
    // hold: every result arrives, in order.
    assert.deepEqual([...new Set(d.seen.map((s) => JSON.parse(s.body).taskId))], Array.from({ length: 11 }, (_, i) => `t${i + 1}`));
    assert.equal(second.stats.recovered, 10);
    assert.deepEqual(readdirSync(spoolDir(stateDir)), []);
  });
});

describe("watchdog", () => {
  it("a poll that hangs past its deadline is abandoned, the loop restarted and counted", async () => {
    let polls = 0;
    const d = await double((req) => {
      if (req.url?.includes("/poll/")) {
        polls++;
        return polls === 1 ? "hang" : { status: 200, body: "[]" };
      }
      return { status: 200 };
    });
    const client = new ConductorClient({ serverUrl: d.url() });
    const run = await runWorkers({
      client,
      stateDir: tempStateDir(),
      handleSignals: false,
      registrations: [reg("wd_task", async () => ({}), { pollTimeoutMs: 50, pollIntervalMs: 20 })],
      hangMarginMs: 200,
      watchdogIntervalMs: 50,
    });
    await until(() => run.stats().watchdogRestarts >= 1 && polls >= 3, 5000, "a restart and further polls");
    const s = await run.stop();
    assert.equal(s.workers.wd_task.restarts, 1);
    d.kill();
    client.close();
    await d.close();
  });
});

describe("shutdown with a poll under way", () => {
  it("stop() does not cancel a poll the server is answering: the task it brings is run and reported, not left IN_PROGRESS", async () => {
    let polled = 0;
    const task = { taskId: "late1", workflowInstanceId: "wf1", taskType: "late_task", inputData: { n: 7 } };
    const d = await double((req) => {
      if (req.url?.includes("/poll/")) {
        polled++;
        // The first poll is answered 300 ms later with a task (the server has handed it out).
        return polled === 1 ? { status: 200, body: JSON.stringify([task]) } : { status: 200, body: "[]" };
      }
      return { status: 204 };
    });
    // Delay every answer of the double by 300 ms: the stop() below lands while the poll is under way.
    const slow = d.server.listeners("request")[0] as (req: http.IncomingMessage, res: http.ServerResponse) => void;
    d.server.removeAllListeners("request");
    let arrived = 0;
    d.server.on("request", (req, res) => {
      arrived++;
      setTimeout(() => slow(req, res), 300);
    });
    const client = new ConductorClient({ serverUrl: d.url() });
    let ran = 0;
    const run = await runWorkers({
      client,
      stateDir: tempStateDir(),
      handleSignals: false,
      logger: silentLogger(),
      registrations: [reg("late_task", async (i: { n: number }) => (ran++, { doubled: i.n * 2 }), { pollTimeoutMs: 1000 })],
    });
    await until(() => arrived > 0, 5000, "the poll request under way");
    assert.equal(polled, 0, "stop() comes while the poll is still unanswered");
    const s = await run.stop();
    assert.equal(ran, 1, "the task the poll brought was run");
    const update = d.seen.find((x) => x.url.startsWith("/api/tasks") && !x.url.includes("/poll/"));
    assert.ok(update, "its result was reported");
    assert.deepEqual(JSON.parse(update.body).outputData, { doubled: 14 });
    assert.equal(JSON.parse(update.body).status, "COMPLETED");
    assert.equal(s.workers.late_task.completed, 1);
    client.close();
    await d.close();
  });
});
