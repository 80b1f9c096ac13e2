/** Runtime pieces without a server: result mapping, backoff, spool, delivery under faults (a small HTTP double), watchdog. */
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { ConductorClient } from "../../src/conductor/client.ts";
import type { TaskResult } from "../../src/conductor/types.ts";
import { silentLogger } from "../../src/log.ts";
import { backoffDelay } from "../../src/runtime/backoff.ts";
import { ResultDelivery } from "../../src/runtime/delivery.ts";
import { invokeInProcess, mapError, mapValue, OUTPUT_JSON_KEPT_FROM, serialise } from "../../src/runtime/executor.ts";
import { getCurrentContext } from "../../src/runtime/context.ts";
import type { TaskContext } from "../../src/task/context.ts";
import { resultJson, sameOutput, settledResult } from "../../src/runtime/result-json.ts";
import { OutageTracker } from "../../src/runtime/outage.ts";
import { runWorkers } from "../../src/runtime/handler.ts";
import { deadLetterFile } from "../../src/runtime/dead-letter.ts";
import { BACKGROUND_SYNC_AFTER_MS, DONE_WRITE_AFTER_MS, putLine, ResultJournal, type SpoolEntry, spoolDir } from "../../src/runtime/spool.ts";
import { inProgress } from "../../src/task/results.ts";
import { TerminalError } from "../../src/task/errors.ts";
import { delay, reg, tempStateDir, until } from "../fixtures/runtime/helpers.ts";

const base = { taskId: "t1", workflowInstanceId: "w1", workerId: "me" };
const result = (i: number): TaskResult => ({ taskId: `t${i}`, workflowInstanceId: "w", status: "COMPLETED", outputData: { i } });

/** A tiny stand-in for Conductor's task endpoints whose answers a test scripts. */
async function double(answer: (req: http.IncomingMessage, body: string) => { status: number; body?: string } | "hang") {
  const seen: Array<{ url: string; body: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const a = answer(req, body);
      seen.push({ url: req.url ?? "", body, status: a === "hang" ? 0 : a.status });
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
    // What is sent: the result's JSON (the output as the task returned it, serialised once).
    const sent = (v: unknown) => JSON.parse(resultJson(mapValue(v, base))) as TaskResult;
    assert.deepEqual(sent({ a: 1, d: new Date(0), u: undefined }), {
      ...base,
      status: "COMPLETED",
      outputData: { a: 1, d: "1970-01-01T00:00:00.000Z" },
    });
    assert.deepEqual(sent(42).outputData, { result: 42 });
    assert.deepEqual(mapValue(42, base).outputData, { result: 42 });
    assert.deepEqual(sent(undefined).outputData, {});
    assert.deepEqual(sent([1, "x"]).outputData, { result: [1, "x"] });
    assert.deepEqual(sent({ toJSON: () => ({ via: "toJSON" }) }).outputData, { via: "toJSON" });
    assert.deepEqual(mapValue(new Map([["k", 1]]), base).outputData, {}, "an object that is not plain: its JSON round-tripped");
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
    assert.deepEqual(JSON.parse(resultJson(t)).outputData, { why: "x" });
  });
  it("the output sent is the task's output when it ended: changing the object afterwards changes nothing sent", () => {
    const pad = "x".repeat(OUTPUT_JSON_KEPT_FROM);
    for (const size of ["small", "large"]) {
      const output = size === "large" ? { n: 1, rows: [{ id: 1 }], pad } : { n: 1, rows: [{ id: 1 }] };
      const r = mapValue(output, base);
      const before = JSON.stringify(output);
      output.n = 2;
      output.rows.push({ id: 2 });
      assert.equal(resultJson(r).includes(before), true, `${size}: the output as it was at the end is sent`);
      assert.deepEqual(JSON.parse(resultJson(sameOutput(r, { ...r, logs: [] }))).outputData, JSON.parse(before), `${size}: with logs`);
      assert.deepEqual(settledResult(r).outputData, JSON.parse(before), size);
    }
    // A copy with another output does not take the snapshot: its JSON is made from its own output.
    const big = mapValue({ rows: [1], pad }, base);
    const merged = { ...big, outputData: { ...big.outputData, batches: 3 } };
    assert.deepEqual(JSON.parse(resultJson(merged)).outputData, { rows: [1], pad, batches: 3 });
  });
});

describe("calling the task function", () => {
  const ctxOf = (taskId: string) => ({ taskId }) as unknown as TaskContext;
  it("a synchronous throw is the promise's rejection, never a throw out of the call", async () => {
    const boom = new Error("sync boom");
    let p: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      p = invokeInProcess(
        reg("sync_throw", () => {
          throw boom;
        }),
        {},
        ctxOf("t-throw"),
      );
    });
    await assert.rejects(p!, (err) => err === boom);
  });
  it("a plain function's value, an async function's promise and a thenable all resolve to what the task returned", async () => {
    assert.deepEqual(
      await invokeInProcess(
        reg("plain", () => ({ n: 1 })),
        {},
        ctxOf("t1"),
      ),
      { n: 1 },
    );
    assert.deepEqual(
      await invokeInProcess(
        reg("async", async (input) => ({ n: (input as { n: number }).n + 1 })),
        { n: 1 },
        ctxOf("t2"),
      ),
      { n: 2 },
    );
    // A promise-like from another library: deliberately a thenable.
    // biome-ignore lint/suspicious/noThenProperty: the case under test
    const thenable = { then: (ok: (v: unknown) => void) => ok("from a thenable") };
    assert.equal(
      await invokeInProcess(
        reg("thenable", () => thenable as unknown as Promise<string>),
        {},
        ctxOf("t3"),
      ),
      "from a thenable",
    );
  });
  it("the function runs in its own context, before and after it awaits, and two at once never see each other's", async () => {
    const seen: string[] = [];
    const fn = async (input: Record<string, unknown>) => {
      seen.push(`${input.id} sync ${getCurrentContext()?.taskId}`);
      await delay(Number(input.wait));
      seen.push(`${input.id} after ${getCurrentContext()?.taskId}`);
      return getCurrentContext()?.taskId;
    };
    const [a, b] = await Promise.all([
      invokeInProcess(reg("ctx_a", fn), { id: "a", wait: 20 }, ctxOf("task-a")),
      invokeInProcess(reg("ctx_b", fn), { id: "b", wait: 5 }, ctxOf("task-b")),
    ]);
    assert.deepEqual([a, b], ["task-a", "task-b"]);
    assert.deepEqual(seen.sort(), ["a after task-a", "a sync task-a", "b after task-b", "b sync task-b"]);
    assert.equal(getCurrentContext(), undefined, "no context leaks out of the calls");
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

describe("spool (write-ahead log)", () => {
  const entries = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ result: result(from + i) }));
  /** A journal whose process "died": its lease file is gone, as after SIGKILL once it went stale. */
  const die = (dir: string, j: ResultJournal) => unlinkSync(path.join(dir, `lease-${j.runId}`));

  it("a put is on disk before it resolves; a dead run's pending results are claimed by the next, done ones are not", async () => {
    const dir = spoolDir(tempStateDir());
    const a = new ResultJournal({ dir, logger: silentLogger() });
    assert.deepEqual(a.open(), []);
    const puts = entries(5).map((e) => a.put(e));
    await Promise.all(puts.map((p) => p.durable));
    const onDisk = readdirSync(dir).filter((f) => f.startsWith("wal-"));
    assert.equal(onDisk.length, 1);
    assert.equal(readFileSync(path.join(dir, onDisk[0]), "utf8").trim().split("\n").length, 5, "one batch, five puts");
    a.done(puts[0].rec);
    a.done(puts[2].rec);
    await a.flush();
    // A live run's segments are never taken.
    const live = new ResultJournal({ dir, logger: silentLogger() });
    assert.deepEqual(live.open(), []);
    live.close();
    die(dir, a);
    const b = new ResultJournal({ dir, logger: silentLogger() });
    const got = b.open();
    assert.deepEqual(
      got.map((r) => r.entry?.result.taskId),
      ["t2", "t4", "t5"],
    );
    assert.ok(got.every((r) => r.recovered));
    for (const r of got) b.done(r);
    await b.flush();
    assert.equal(b.close(), 0);
    assert.deepEqual(
      readdirSync(dir).filter((f) => !f.startsWith("lease-")),
      [],
      "every segment removed once handled",
    );
  });

  it("the puts of one batch share one promise; a put made while a batch is being written waits for its own", async () => {
    const dir = spoolDir(tempStateDir());
    // "always": each batch waits for its fdatasync, so a put can come while one is under way.
    const j = new ResultJournal({ dir, logger: silentLogger(), sync: "always" });
    j.open();
    const first = entries(3).map((e) => j.put(e));
    assert.equal(first[0].durable, first[2].durable, "one promise for the batch");
    await new Promise((r) => setImmediate(r)); // the first batch is written; its sync may be under way
    const late = j.put(entries(1, 4)[0]);
    assert.notEqual(late.durable, first[0].durable, "a put after the batch was taken waits for the next one");
    await late.durable;
    assert.ok(late.rec.durable, "resolved only once its own line is written");
    await Promise.all(first.map((p) => p.durable));
    assert.ok(first.every((p) => p.rec.durable));
    const lines = readdirSync(dir)
      .filter((f) => f.startsWith("wal-"))
      .flatMap((f) => readFileSync(path.join(dir, f), "utf8").trim().split("\n"));
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { e: { result: { taskId: string } } }).e.result.taskId),
      ["t1", "t2", "t3", "t4"],
    );
    j.close();
  });

  it("background sync: a result the server took within syncAfterMs is never synced; one still waiting is synced once, then not again", async () => {
    assert.equal(BACKGROUND_SYNC_AFTER_MS, 1000, "the default the README and docs/architecture.md state");
    const after = 100;
    const dir = spoolDir(tempStateDir());
    const j = new ResultJournal({ dir, logger: silentLogger(), syncAfterMs: after });
    j.open();
    try {
      // Delivered at once (as update-v2 does in a few ms): no fdatasync for it, ever.
      const quick = entries(3).map((e) => j.put(e));
      await Promise.all(quick.map((p) => p.durable));
      for (const p of quick) j.done(p.rec);
      await delay(after * 4);
      assert.equal(j.syncs, 0, "results delivered before they were syncAfterMs old cost no sync");
      assert.equal(j.syncTimerFirings, 0, "nor a wake-up: the sync timer went when the results it waited for were delivered");
      // Still undelivered after syncAfterMs (the server is slow or away): synced once, not again.
      const slow = j.put(entries(1, 10)[0]);
      await slow.durable;
      await delay(after / 2);
      assert.equal(j.syncs, 0, "not synced before it is syncAfterMs old");
      await until(() => j.syncs === 1, 2000);
      await delay(after * 4);
      assert.equal(j.syncs, 1, "one sync covers it; it is not synced again while it waits");
      j.done(slow.rec);
    } finally {
      j.close();
    }
  });

  it("done marks ride with the next put's batch while results flow, with no timer of their own; once nothing flows, the lease's refresh writes them", async () => {
    assert.equal(DONE_WRITE_AFTER_MS, 200, "the bound spool.ts states");
    const dir = spoolDir(tempStateDir());
    const refreshMs = 300;
    const j = new ResultJournal({ dir, logger: silentLogger(), refreshMs });
    j.open();
    try {
      // A busy worker: a result every 30 ms, answered at once, so its done mark waits in the buffer
      // for the next result (over 3.5 times DONE_WRITE_AFTER_MS of flow).
      const puts = 25;
      for (let i = 1; i <= puts; i++) {
        const p = j.put(entries(1, i)[0]);
        await p.durable;
        await delay(5); // the server's answer
        j.done(p.rec);
        await delay(25);
      }
      // Each put made one batch, with the mark before it; at most one hiccup of a loaded machine (a
      // mark kept waiting over DONE_WRITE_AFTER_MS when the lease's refresh came) may have written
      // a mark alone.
      assert.ok(j.batches >= puts, `${j.batches} batches for ${puts} puts`);
      assert.ok(j.batches - puts <= 1, `${j.batches} batches for ${puts} puts: done marks were written on their own while puts flowed`);
      const before = j.batches;
      // Nor did a timer wake the process: every result was delivered long before the sync timer's
      // deadline, and each delivery took that deadline away.
      assert.equal(j.syncTimerFirings, 0, "no sync timer firing: every result was delivered within syncAfterMs");
      const seg = readdirSync(dir).find((f) => f.startsWith("wal-"))!;
      const marks = () =>
        readFileSync(path.join(dir, seg), "utf8")
          .split("\n")
          .filter((l) => l.startsWith('{"d":')).length;
      // Nothing flows now: the lease's refresh writes the last mark, alone.
      await until(() => marks() === puts, refreshMs * 2 + DONE_WRITE_AFTER_MS + 1000);
      assert.equal(j.batches, before + 1, "the last mark in one batch of its own");
    } finally {
      j.close();
    }
  });

  it("answers that keep coming with no put between them: a mark that finds the others waiting DONE_WRITE_AFTER_MS writes them all", async () => {
    const dir = spoolDir(tempStateDir());
    // A lease refresh far away: only the marks themselves can start a batch here.
    const j = new ResultJournal({ dir, logger: silentLogger(), refreshMs: 60_000 });
    j.open();
    try {
      const ps = entries(12).map((e) => j.put(e));
      await Promise.all(ps.map((p) => p.durable));
      assert.equal(j.batches, 1);
      const started = performance.now();
      // The answers of one batch, spread out: one every 30 ms.
      for (const p of ps) {
        j.done(p.rec);
        await delay(30);
      }
      const took = performance.now() - started;
      const seg = readdirSync(dir).find((f) => f.startsWith("wal-"))!;
      const marks = readFileSync(path.join(dir, seg), "utf8")
        .split("\n")
        .filter((l) => l.startsWith('{"d":')).length;
      // The first mark waited from 0 ms; the mark at 210 ms (or the first past 200 on a loaded
      // machine) wrote the 8 marks waiting then, itself included. Later ones wait for the next put,
      // a mark past their own 200 ms, or the lease.
      assert.ok(j.batches >= 2, `${j.batches} batches: the marks waited for ${Math.round(took)} ms without a batch`);
      assert.ok(marks >= 7, `${marks} marks written: those that waited ${DONE_WRITE_AFTER_MS} ms were`);
    } finally {
      j.close();
    }
  });

  it("ownership is a run id and a lease, not a pid: pid 1 of an earlier container start is dead, a fresh lease of another live run is not", async () => {
    const dir = spoolDir(tempStateDir());
    const a = new ResultJournal({ dir, logger: silentLogger(), staleMs: 60_000 });
    a.open();
    await a.put({ result: result(1) }).durable;
    // Same host, same pid as ours, another process start: a container restarted as the same pid.
    const lease = path.join(dir, `lease-${a.runId}`);
    const info = JSON.parse(readFileSync(lease, "utf8"));
    writeFileSync(lease, JSON.stringify({ ...info, processStart: info.processStart - 60_000 }));
    const b = new ResultJournal({ dir, logger: silentLogger(), staleMs: 60_000 });
    assert.deepEqual(
      b.open().map((r) => r.entry?.result.taskId),
      ["t1"],
    );
    // Another host's fresh lease: alive until stale.
    const c = new ResultJournal({ dir, logger: silentLogger(), staleMs: 60_000 });
    c.open();
    await c.put({ result: result(2) }).durable;
    const cLease = path.join(dir, `lease-${c.runId}`);
    writeFileSync(cLease, JSON.stringify({ ...JSON.parse(readFileSync(cLease, "utf8")), host: "elsewhere", pid: 1 }));
    const d = new ResultJournal({ dir, logger: silentLogger(), staleMs: 60_000 });
    assert.deepEqual(d.open(), [], "a fresh lease of another host is respected");
    const old = new Date(Date.now() - 120_000);
    utimesSync(cLease, old, old);
    const e = new ResultJournal({ dir, logger: silentLogger(), staleMs: 60_000 });
    assert.deepEqual(
      e.open().map((r) => r.entry?.result.taskId),
      ["t2"],
      "a stale lease is a dead run's",
    );
    for (const j of [b, d, e]) j.close();
  });

  it("a put line spliced from the result's JSON reads back as the entry, every field of it", () => {
    const variants: SpoolEntry[] = [
      { result: result(1) },
      { result: { ...result(2), outputData: { text: 'quote " and \\ and \u2028 and é' } }, worker: 'my "task"' },
      { result: result(3), worker: "w", downgraded: true },
      { result: result(4), downgraded: false },
    ];
    for (const entry of variants) {
      const line = putLine("run.1a", entry, JSON.stringify(entry.result));
      assert.deepEqual(JSON.parse(line), { p: "run.1a", e: entry });
      assert.equal(line, JSON.stringify({ p: "run.1a", e: entry }), "the same bytes JSON.stringify would write");
    }
  });

  it("a torn last line (a crash mid-write) is skipped", async () => {
    const dir = spoolDir(tempStateDir());
    const a = new ResultJournal({ dir, logger: silentLogger() });
    a.open();
    await a.put({ result: result(1) }).durable;
    const seg = readdirSync(dir).find((f) => f.startsWith("wal-"))!;
    appendFileSync(path.join(dir, seg), '{"p":"x.1","e":{"result":{"taskId":"t9","work');
    die(dir, a);
    const b = new ResultJournal({ dir, logger: silentLogger() });
    assert.deepEqual(
      b.open().map((r) => r.entry?.result.taskId),
      ["t1"],
    );
    assert.equal(b.corrupt, 1);
    b.close();
  });

  it("disk errors are logged, the result stays in memory, and is written once the disk works again", async () => {
    const state = tempStateDir();
    const dir = spoolDir(state);
    writeFileSync(dir, "not a directory"); // mkdir and open fail (ENOTDIR/EEXIST), as on an unwritable .idflow/
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    const j = new ResultJournal({ dir, logger, retryMs: 50 });
    j.open();
    const p = j.put({ result: result(1) });
    await p.durable; // resolves: kept in memory
    assert.equal(p.rec.durable, false);
    assert.equal(j.pending, 1);
    assert.ok(j.degraded);
    assert.ok(
      lines.some((l) => l.includes("cannot write the result spool")),
      lines.join(""),
    );
    unlinkSync(dir);
    await delay(80);
    j.put({ result: result(2) });
    await j.flush();
    await until(() => p.rec.durable, 3000, "the kept result to be written");
    const seg = readdirSync(dir).find((f) => f.startsWith("wal-"))!;
    assert.match(readFileSync(path.join(dir, seg), "utf8"), /"taskId":"t1"/);
    j.close();
  });
});

/** Every answer the double gave, by task id: a delivery test asserts each result's LAST answer was a success. */
function lastAnswers(seen: Array<{ url: string; body: string; status: number }>): Map<string, { status: number; result: TaskResult }> {
  const m = new Map<string, { status: number; result: TaskResult }>();
  for (const s of seen) {
    if (!s.url.startsWith("/api/tasks") || s.url.includes("/poll/")) continue;
    const r = JSON.parse(s.body) as TaskResult;
    m.set(r.taskId, { status: s.status, result: r });
  }
  return m;
}

describe("delivery under faults", () => {
  const doubles: Array<{ close: () => Promise<unknown> }> = [];
  after(() => Promise.all(doubles.map((d) => d.close())));

  async function setup(answer: Parameters<typeof double>[0], extra: Partial<ConstructorParameters<typeof ResultDelivery>[0]> = {}) {
    const d = await double(answer);
    doubles.push(d);
    const stateDir = tempStateDir();
    const make = () => {
      const c = new ConductorClient({ serverUrl: d.url() });
      const logger = silentLogger();
      return new ResultDelivery({
        client: c,
        logger,
        outage: new OutageTracker(logger, d.url()),
        spoolDir: spoolDir(stateDir),
        backoff: { baseMs: 10, capMs: 50 },
        ...extra,
      });
    };
    return { d, make, stateDir };
  }

  it("retries 5xx until the server takes the result, in order; every result's last answer is a success", async () => {
    let down = true;
    const { d, make } = await setup((_req, body) => {
      const r = JSON.parse(body) as TaskResult;
      return down ? { status: 503 } : { status: 200, body: r.taskId };
    });
    const delivery = make();
    for (let i = 1; i <= 5; i++) await delivery.deliver(result(i), false);
    assert.equal(delivery.backlog, 5);
    await delay(600); // many attempts each (backoff 10-50 ms): a delivery that gave up after N attempts fails here
    down = false;
    await until(() => delivery.idle, 5000, "the backlog to drain");
    const last = lastAnswers(d.seen);
    assert.deepEqual([...last.keys()], ["t1", "t2", "t3", "t4", "t5"], "delivered in order");
    for (const [id, a] of last) assert.equal(a.status, 200, `last answer for ${id}`);
    assert.equal(delivery.stats.delivered, 5);
    assert.equal(await delivery.close(1000), 0);
  });

  it("a refused result goes to the dead letters with the server's answer, a minimal FAILED is sent instead, and nothing waits behind it", async () => {
    const { d, make, stateDir } = await setup((_req, body) => {
      const r = JSON.parse(body) as TaskResult;
      if (r.taskId === "gone") return { status: 404, body: '{"message":"no task"}' };
      if (r.taskId === "bad" && r.status === "COMPLETED") return { status: 400, body: '{"status":400,"message":"too odd"}' };
      if (r.taskId === "worse") return { status: 422, body: '{"message":"never"}' };
      if (r.taskId === "fatal") return { status: 500, body: '{"status":500,"message":"boom","retryable":false}' };
      return { status: 200, body: r.taskId };
    });
    const delivery = make();
    for (const id of ["bad", "worse", "fatal", "gone"]) await delivery.deliver({ ...result(0), taskId: id });
    for (let i = 1; i <= 3; i++) await delivery.deliver(result(i));
    await until(() => delivery.idle, 5000, "every result answered");
    const last = lastAnswers(d.seen);
    for (const id of ["t1", "t2", "t3"]) assert.equal(last.get(id)?.status, 200, id);
    assert.equal(last.get("bad")?.status, 200);
    assert.equal(last.get("bad")?.result.status, "FAILED");
    assert.match(last.get("bad")!.result.reasonForIncompletion!, /refused.*400.*too odd/);
    const letters = readFileSync(deadLetterFile(stateDir), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(letters.map((l) => `${l.taskId}:${l.server.status}:${l.result.status}`).sort(), [
      "bad:400:COMPLETED",
      "fatal:500:COMPLETED",
      "fatal:500:FAILED",
      "worse:422:COMPLETED",
      "worse:422:FAILED",
    ]);
    assert.equal(letters.find((l) => l.taskId === "bad").server.body.message, "too odd");
    assert.equal(d.seen.filter((s) => s.body.includes('"fatal"') && s.body.includes("COMPLETED")).length, 3, "a 5xx retryable:false is tried 3 times first");
    assert.equal(delivery.stats.deadLettered, 5);
    assert.equal(delivery.stats.dropped, 6, "404 + 5 dead letters");
    assert.equal(await delivery.close(500), 0);
  });

  it("close() ends the updates the server holds (update-v2 and POST): within the window, with the results left in the spool", async () => {
    const { make, d } = await setup(() => "hang");
    const delivery = make();
    const v2 = delivery.deliver(result(1), true);
    const post = delivery.deliver(result(2), false);
    await until(() => d.seen.length === 2, 5000, "both updates to reach the double");
    assert.deepEqual(d.seen.map((s) => s.url.replace(/^.*\/api\//, "")).sort(), ["tasks", "tasks/update-v2"]);
    const started = performance.now();
    assert.equal(await delivery.close(200), 2, "the unanswered results stay spooled");
    assert.ok(performance.now() - started < 5000, "close() did not wait for the requests' own timeouts");
    assert.equal(await v2, undefined, "no next task from an aborted update");
    assert.equal(await post, undefined);
    d.kill();
  });

  it("beyond maxInMemory results wait in the spool only; what is left at close stays there; the next run delivers it first", async () => {
    let down = true;
    const { make, d } = await setup((_req, body) => (down ? { status: 500 } : { status: 200, body: JSON.parse(body).taskId }), { maxInMemory: 3 });
    const first = make();
    for (let i = 1; i <= 10; i++) await first.deliver(result(i));
    assert.equal(first.backlog, 10);
    assert.equal(await first.close(200), 10);
    down = false;
    d.seen.length = 0;
    const second = make();
    assert.equal(second.recoverSpool(), 10);
    await second.deliver(result(11));
    await until(() => second.idle, 5000, "spool delivered");
    const last = lastAnswers(d.seen);
    // At least once: the closed instance's abandoned request may still land; every result arrives, in order, last answer a success.
    assert.deepEqual(
      [...new Set(d.seen.map((s) => JSON.parse(s.body).taskId))],
      Array.from({ length: 11 }, (_, i) => `t${i + 1}`),
    );
    for (const [id, a] of last) assert.equal(a.status, 200, id);
    assert.equal(second.stats.recovered, 10);
    assert.equal(await second.close(200), 0);
  });

  it("a result is serialised once: its spool line and the request body are made from the same JSON", async () => {
    const { d, make } = await setup((_req, body) => ({ status: 200, body: JSON.parse(body).taskId }));
    const delivery = make();
    let serialised = 0;
    const counted = {
      toJSON: () => {
        serialised++;
        return { rows: [1, 2, 3] };
      },
    };
    const r = { ...result(1), outputData: { counted } } as unknown as TaskResult;
    await delivery.deliver(r, false, "w");
    await until(() => delivery.idle, 3000, "delivered");
    assert.equal(serialised, 1, "JSON.stringify ran on the result more than once");
    const body = d.seen.find((s) => s.body.includes('"t1"'))!.body;
    assert.deepEqual(JSON.parse(body), JSON.parse(JSON.stringify(r)));
    // From the executor: its serialisation of the output is the only one, the delivery's included.
    // (an output of OUTPUT_JSON_KEPT_FROM characters or more: its JSON rides on the result)
    serialised = 0;
    const pad = "p".repeat(OUTPUT_JSON_KEPT_FROM);
    await delivery.deliver(mapValue({ counted, pad }, { ...base, taskId: "t2" }), false, "w");
    await until(() => delivery.idle, 3000, "delivered");
    assert.equal(serialised, 1, "the output was serialised again after the executor");
    assert.deepEqual(JSON.parse(d.seen.find((s) => s.body.includes('"t2"'))!.body).outputData, { counted: { rows: [1, 2, 3] }, pad });
    assert.equal(await delivery.close(100), 0);
  });

  it("an output over the server's limit is not sent: FAILED_WITH_TERMINAL_ERROR naming the task and the size", async () => {
    const { d, make } = await setup((_req, body) => ({ status: 200, body: JSON.parse(body).taskId }), { maxOutputBytes: 1000 });
    const delivery = make();
    await delivery.deliver({ ...result(1), outputData: { blob: "x".repeat(2000) } }, false, "big_task");
    await until(() => delivery.idle, 3000, "delivered");
    const sent = lastAnswers(d.seen).get("t1")!.result;
    assert.equal(sent.status, "FAILED_WITH_TERMINAL_ERROR");
    assert.match(sent.reasonForIncompletion!, /^big_task: task output is .* \(20\d\d bytes of JSON\), over Conductor's limit/);
    assert.equal(sent.outputData, undefined);
    await delivery.close(100);
  });
});

describe("backpressure", () => {
  it("while the backlog is past its bound no new work is polled; polling resumes once it drains", async () => {
    let down = true;
    let polls = 0;
    let n = 0;
    const d = await double((req) => {
      if (req.url?.includes("/poll/")) {
        polls++;
        return { status: 200, body: JSON.stringify([{ taskId: `bp${n++}`, workflowInstanceId: "w", taskType: "bp_task" }]) };
      }
      return down ? { status: 503 } : { status: 200 };
    });
    const client = new ConductorClient({ serverUrl: d.url() });
    const run = await runWorkers({
      client,
      stateDir: tempStateDir(),
      handleSignals: false,
      backoff: { baseMs: 20, capMs: 50 },
      pauseAboveBacklog: 5,
      registrations: [reg("bp_task", async () => ({}), { concurrency: 2, pollIntervalMs: 10, pollTimeoutMs: 10 })],
    });
    await until(() => run.stats().delivery.backlog >= 5, 5000, "the backlog to reach its bound");
    await delay(100);
    const frozen = polls;
    await delay(500);
    assert.ok(polls <= frozen + 2, `polls went on while paused: ${frozen} -> ${polls}`);
    down = false;
    await until(() => polls > frozen + 5, 5000, "polling to resume");
    await run.stop();
    client.close();
    await d.close();
  });
});

describe("watchdog", () => {
  it("a poll step that overruns its deadline gets a fresh loop, counted; the request itself is left to its own timeout", async () => {
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
    await until(() => run.stats().watchdogRestarts >= 1, 5000, "a restart");
    // The hung request is not aborted (its answer could hold tasks) and keeps its slot until its own
    // timeout (long poll + 10 s); then the fresh loop polls again.
    await until(() => polls >= 3, 20_000, "further polls");
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
      registrations: [
        reg(
          "late_task",
          async (i: { n: number }) => {
            ran++;
            return { doubled: i.n * 2 };
          },
          { pollTimeoutMs: 1000 },
        ),
      ],
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
