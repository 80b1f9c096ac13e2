/**
 * One configuration source: flags > environment > idflow.config.json > defaults, shown by
 * `idflow config` with each value's source and never a secret; a bad file is an error naming the
 * file, the line and the key; the shipped JSON Schema matches the declarations.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { configSchema } from "../../src/config-file.ts";
import { resolveConfig } from "../../src/config.ts";
import { discover } from "../../src/discovery/discover.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(repo, "cli/bin.js");
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(config: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "idflow-config-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, "idflow.config.json"), typeof config === "string" ? config : JSON.stringify(config, null, 2));
  return dir;
}

const SECRET = "s3cr3t-value-that-must-not-print";
const cleanEnv = () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const k of Object.keys(env)) if (/^(CONDUCTOR_|IDFLOW_|LOG_LEVEL$)/.test(k)) delete env[k];
  return env;
};

test("idflow config --json shows each value's source from all four layers and redacts the secret", () => {
  const dir = project({ logFormat: "json", serverUrl: "http://file-host:1234", logLevel: "warn", workers: { "*": { concurrency: 4 } } });
  const env = {
    ...cleanEnv(),
    CONDUCTOR_AUTH_KEY: "key-id",
    CONDUCTOR_AUTH_SECRET: SECRET,
    IDFLOW_LOG_LEVEL: "debug",
    CONDUCTOR_WORKER_text_stats_POLL_INTERVAL_MILLIS: "250",
  };
  const r = spawnSync(process.execPath, [bin, "config", "--json", "--root", dir, "--server-url", "http://flag-host:8080/api"], { env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), "the secret was printed");
  const out = JSON.parse(r.stdout) as { file: string; options: Array<{ key: string; value: unknown; source: string; from?: string }> };
  const row = (k: string) => out.options.find((o) => o.key === k);
  assert.equal(out.file, path.join(dir, "idflow.config.json"));
  assert.deepEqual([row("serverUrl")?.value, row("serverUrl")?.source, row("serverUrl")?.from], ["http://flag-host:8080", "flag", "--server-url"]);
  assert.deepEqual([row("logLevel")?.value, row("logLevel")?.source, row("logLevel")?.from], ["debug", "env", "IDFLOW_LOG_LEVEL"]);
  assert.deepEqual([row("logFormat")?.value, row("logFormat")?.source], ["json", "file"]);
  assert.match(String(row("logFormat")?.from), /idflow\.config\.json#\/logFormat$/);
  assert.deepEqual([row("workers.*.concurrency")?.value, row("workers.*.concurrency")?.source], [4, "file"]);
  assert.deepEqual(
    [row("workers.text_stats.pollIntervalMs")?.value, row("workers.text_stats.pollIntervalMs")?.source, row("workers.text_stats.pollIntervalMs")?.from],
    ["250", "env", "CONDUCTOR_WORKER_text_stats_POLL_INTERVAL_MILLIS"],
  );
  assert.deepEqual([row("metricsHost")?.value, row("metricsHost")?.source], ["127.0.0.1", "default"]);
  assert.deepEqual([row("shutdownGraceSeconds")?.value, row("shutdownGraceSeconds")?.source], [30, "default"]);
  assert.deepEqual([row("authKey")?.value, row("authKey")?.source], ["key-id", "env"]);
  assert.deepEqual([row("authSecret")?.value, row("authSecret")?.source, row("authSecret")?.from], ["[redacted]", "env", "CONDUCTOR_AUTH_SECRET"]);

  // The table for people says the same, and still no secret.
  const human = spawnSync(process.execPath, [bin, "config", "--root", dir], { env, encoding: "utf8" });
  assert.equal(human.status, 0, human.stderr);
  assert.ok(!human.stderr.includes(SECRET) && !human.stdout.includes(SECRET));
  assert.match(human.stderr, /authSecret\s+\[redacted\]\s+env\s+CONDUCTOR_AUTH_SECRET/);
  assert.match(human.stderr, /serverUrl\s+http:\/\/file-host:1234\s+file/);
});

test("a secret from an auth file is used but never printed", () => {
  const dir = project({ authFile: "creds.json" });
  writeFileSync(path.join(dir, "creds.json"), JSON.stringify({ keyId: "file-key", keySecret: SECRET }));
  const c = resolveConfig({ root: dir }, cleanEnv());
  assert.deepEqual(c.auth, { keyId: "file-key", keySecret: SECRET });
  const r = spawnSync(process.execPath, [bin, "config", "--json", "--root", dir], { env: cleanEnv(), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET));
  assert.match(r.stdout, /"authFile\.keySecret"[\s\S]*?"\[redacted\]"/);
});

test("an unknown key or a wrong type in idflow.config.json is an error naming the file, the line and the key (exit 2)", () => {
  const dir = project(
    '{\n  "ownerEmail": "team@example.com",\n  "logLevl": "debug",\n  "shutdownGraceSeconds": "ten",\n  "workers": { "text_stats": { "concurency": 2 } }\n}\n',
  );
  const r = spawnSync(process.execPath, [bin, "config", "--root", dir], { env: cleanEnv(), encoding: "utf8" });
  assert.equal(r.status, 2);
  const file = path.join(dir, "idflow.config.json");
  assert.ok(r.stderr.includes(`${file}:3:3 #/logLevl: unknown key "logLevl"`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:4:27 #/shutdownGraceSeconds: must be integer`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:5:32 #/workers/text_stats/concurency: unknown key "concurency"`), r.stderr);
  // Every other command refuses the same file the same way.
  const list = spawnSync(process.execPath, [bin, "worker", "list", "--root", dir], { env: cleanEnv(), encoding: "utf8" });
  assert.equal(list.status, 2);
  assert.match(list.stderr, /#\/logLevl: unknown key/);
});

test("a bad value from a flag or the environment names its flag or variable", () => {
  assert.throws(() => resolveConfig({}, { ...cleanEnv(), IDFLOW_METRICS_PORT: "http" }), /IDFLOW_METRICS_PORT must be a whole number, got "http"/);
  assert.throws(() => resolveConfig({ logLevel: "loud" }, cleanEnv()), /--log-level must be one of trace, debug, info/);
  assert.throws(() => resolveConfig({}, { ...cleanEnv(), CONDUCTOR_SERVER_URL: "ftp://x" }), /CONDUCTOR_SERVER_URL: "ftp:\/\/x" is not an http\(s\) URL/);
});

test("worker options from the file sit above the decorator and below CONDUCTOR_WORKER_*", async () => {
  const dir = project({ workers: { "*": { concurrency: 3, pollIntervalMs: 250 }, cfg_one: { concurrency: 5 } } });
  const { mkdirSync } = await import("node:fs");
  mkdirSync(path.join(dir, "tasks/cfg_one"), { recursive: true });
  writeFileSync(
    path.join(dir, "tasks/cfg_one/cfg_one.ts"),
    `import { workerTask } from "${path.join(repo, "src/index.ts")}";\nexport const one = workerTask({ name: "cfg_one", concurrency: 1, pollIntervalMs: 50, pollTimeoutMs: 10 })(async () => ({}));\n`,
  );
  const found = await discover({ root: dir, env: { CONDUCTOR_WORKER_ALL_POLL_INTERVAL: "700" }, tsconfig: false });
  assert.deepEqual(found.errors, []);
  const o = found.registrations[0].options;
  assert.deepEqual([o.concurrency, o.pollIntervalMs, o.pollTimeoutMs], [5, 700, 10]);
  assert.equal(found.registrations[0].envOverrides?.concurrency, "idflow.config.json#/workers/cfg_one/concurrency");
  assert.equal(found.registrations[0].envOverrides?.pollIntervalMs, "CONDUCTOR_WORKER_ALL_POLL_INTERVAL");
});

test("the JSON Schema shipped in schema/ is the one generated from the declarations (regenerate: idflow config --schema)", () => {
  const shipped = JSON.parse(readFileSync(path.join(repo, "schema/idflow.config.schema.json"), "utf8"));
  assert.deepEqual(shipped, configSchema());
  // and the repository's own example project file follows it
  assert.doesNotThrow(() => resolveConfig({ root: repo }, cleanEnv()));
});

test("the file's conductorVersion pattern is the one workflow validation uses", async () => {
  const { VERSION_PATTERN } = await import("../../src/workflows/target.ts");
  const { CONFIG_OPTIONS } = await import("../../src/config.ts");
  assert.equal(CONFIG_OPTIONS.find((d) => d.key === "conductorVersion")?.pattern, VERSION_PATTERN.source);
  const dir = project({ conductorVersion: "latest" });
  assert.throws(() => resolveConfig({ root: dir }, cleanEnv()), /#\/conductorVersion: must look like "3\.21\.14"/);
});
