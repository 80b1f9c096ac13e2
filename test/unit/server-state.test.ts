/** The local server's files: state file, properties, log tail, ports. */
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { resolveServerUrl } from "../../src/config.ts";
import { followFile, tailLines } from "../../src/server/logs.ts";
import { freePort, portIsFree } from "../../src/server/port.ts";
import { serverProperties } from "../../src/server/properties.ts";
import { isAlive, isOurServer, readState, writeState, type ServerState } from "../../src/server/state.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-server-state-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sample = (over: Partial<ServerState> = {}): ServerState => ({
  url: "http://127.0.0.1:8123",
  pid: process.pid,
  port: 8123,
  jar: "/x/conductor-server-3.21.14-boot.jar",
  java: "/usr/bin/java",
  memory: false,
  logFile: "/x/server.log",
  configFile: "/x/conductor.properties",
  startedAt: new Date().toISOString(),
  status: "running",
  ...over,
});

describe("state file", () => {
  test("written, read back, and found by resolveServerUrl", async () => {
    const stateDir = path.join(tmp, "s1");
    assert.deepEqual(readState(stateDir), { kind: "none" });
    await writeState(stateDir, sample());
    const read = readState(stateDir);
    assert.equal(read.kind, "ok");
    assert.equal(read.kind === "ok" && read.state.port, 8123);
    assert.deepEqual(resolveServerUrl({}, { root: tmp, stateDir }, {}), { url: "http://127.0.0.1:8123", source: "local-server" });
    assert.deepEqual(resolveServerUrl({}, { root: tmp, stateDir }, { CONDUCTOR_SERVER_URL: "http://h:1/api" }), { url: "http://h:1", source: "env" });
  });
  test("broken files are reported, not thrown", () => {
    const stateDir = path.join(tmp, "s2");
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path.join(stateDir, "server.json"), "{");
    const r = readState(stateDir);
    assert.equal(r.kind, "broken");
    writeFileSync(path.join(stateDir, "server.json"), JSON.stringify({ url: "x" }));
    assert.match((readState(stateDir) as { problem: string }).problem, /lacks pid, port or url/);
  });
  test("a live pid that is not a Conductor java is not our server; a dead pid is not alive", () => {
    assert.equal(isAlive(process.pid), true);
    assert.equal(isOurServer(sample({ pid: process.pid })), false, "this node process is not Conductor");
    assert.equal(isAlive(2 ** 22 + 12345), false);
    assert.equal(isAlive(0), false);
  });
});

describe("properties", () => {
  test("SQLite by default, memory on request; always 127.0.0.1 and the port", () => {
    const sqlite = serverProperties({ port: 9001, memory: false, dataFile: "/d/conductor.db" });
    assert.match(sqlite, /^conductor\.db\.type=sqlite$/m);
    assert.match(sqlite, /^conductor\.elasticsearch\.version=0$/m);
    assert.match(sqlite, /^spring\.datasource\.url=jdbc:sqlite:\/d\/conductor\.db\?busy_timeout=15000&journal_mode=WAL&transaction_mode=IMMEDIATE$/m);
    assert.match(sqlite, /^server\.port=9001$/m);
    assert.match(sqlite, /^server\.address=127\.0\.0\.1$/m);
    const mem = serverProperties({ port: 9002, memory: true, dataFile: "/d/conductor.db" });
    assert.match(mem, /^conductor\.db\.type=memory$/m);
    assert.match(mem, /^conductor\.queue\.type=memory$/m);
    assert.match(mem, /^conductor\.indexing\.enabled=false$/m);
    assert.doesNotMatch(mem, /sqlite|redis/);
  });
});

describe("logs", () => {
  test("tail from an offset, and follow appended text", async () => {
    const file = path.join(tmp, "server.log");
    writeFileSync(file, "old 1\nold 2\n");
    const offset = 12;
    appendFileSync(file, "a\nb\nc\n");
    assert.equal(tailLines(file, 2), "b\nc");
    assert.equal(tailLines(file, 10, offset), "a\nb\nc");
    assert.equal(tailLines(path.join(tmp, "none.log"), 3), "(no log yet)");
    const seen: string[] = [];
    const stop = followFile(file, (t) => seen.push(t), 20);
    appendFileSync(file, "d\n");
    const deadline = Date.now() + 3000;
    while (!seen.join("").includes("d\n") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stop();
    assert.equal(seen.join(""), "d\n");
  });
});

describe("ports", () => {
  test("a taken port is not free; freePort gives a bindable one", async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const taken = (srv.address() as net.AddressInfo).port;
    assert.equal(await portIsFree(taken), false);
    await new Promise<void>((r) => srv.close(() => r()));
    assert.equal(await portIsFree(taken), true);
    const p = await freePort();
    assert.ok(p > 0 && p < 65536);
    assert.equal(await portIsFree(p), true);
  });
});
