import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { discover } from "../../src/discovery/discover.ts";
import { findTsconfig } from "../../src/discovery/loader.ts";
import type { DiscoveryResult } from "../../src/task/registration.ts";
import { REPO_ROOT, scratchProject, type Scratch } from "../fixtures/discovery/scratch.ts";

const probe = `
export function probe(...args: unknown[]): void {
  (globalThis as any).__idflowProbe ??= [];
  (globalThis as any).__idflowProbe.push(args.length);
}`;

/** The scratch project of the issue: broken folders, a duplicate, two workers in one folder, a helper, a test file, a plain function. */
const MESSY: Record<string, string> = {
  "tasks/greet/greet.ts": `
import { workerTask } from "idflow";
import { greeting } from "./format.ts";
export const greet = workerTask({ name: "greet", concurrency: 2 })(async (input: { who: string }) => ({ text: greeting(input.who) }));`,
  "tasks/greet/format.ts": `export const greeting = (who: string) => "Hello, " + who + "!";`,
  "tasks/greet/greet.test.ts": `throw new Error("a test file must never be imported by discovery");`,
  "tasks/pair/index.ts": `
import { workerTask } from "idflow";
import { probe } from "./probe.ts";
export class Pair {
  prefix = "inst:";
  static count = 0;
  @probe
  @workerTask({ name: "pair_instance" })
  async run(input: { x: string }) { return { out: this.prefix + input.x }; }
  @workerTask({ name: "pair_static", domain: "eu" })
  static async run2(input: { x: string }) { return { out: (this === Pair) + ":" + input.x }; }
}`,
  "tasks/pair/probe.ts": probe,
  "tasks/broken_syntax/broken_syntax.ts": `import { workerTask } from "idflow";\nexport const x = ;\n`,
  "tasks/throws/throws.ts": `import { workerTask } from "idflow";\nworkerTask({ name: "never" })(async () => ({}));\nthrow new Error("boom at import");\n`,
  "tasks/missing_dep/missing_dep.ts": `import pad from "left-pad-not-installed";\nexport const y = pad;\n`,
  "tasks/empty/empty.ts": `export const nothing = 1;\n`,
  "tasks/zz_dup/zz_dup.ts": `import { workerTask } from "idflow";\nexport const again = workerTask({ name: "greet" })(async () => ({}));\n`,
  "tasks/dup_domain/dup_domain.ts": `import { workerTask } from "idflow";\nexport const eu = workerTask({ name: "greet", domain: "eu" })(async () => ({}));\n`,
  "tasks/bad_opts/bad_opts.ts": `
import { workerTask } from "idflow";
export const bad = workerTask({ name: "bad_retry", retryCount: -1 })(async () => ({}));
export const bad2 = workerTask({ name: "bad_timeout", timeoutSeconds: 10, responseTimeoutSeconds: 60 })(async () => ({}));
export const bad3 = workerTask({ name: "bad_logic", retryLogic: "SOMETIMES" as any })(async () => ({}));
export const good = workerTask({ name: "bad_opts_ok" })(async () => ({ ok: true }));`,
  "tasks/ctor_throws/ctor_throws.ts": `
import { workerTask } from "idflow";
export class Needy {
  constructor() { throw new Error("needs a database"); }
  @workerTask({ name: "needy" }) async run() { return {}; }
}`,
  "tasks/_skipped/_skipped.ts": `throw new Error("folders starting with _ are skipped");`,
  "tasks/.hidden/.hidden.ts": `throw new Error("folders starting with . are skipped");`,
  "tasks/no_module/notes.md": "nothing to run here\n",
};

function errorFor(r: DiscoveryResult, folder: string): string[] {
  return r.errors.filter((e) => path.basename(e.folder) === folder).map((e) => e.message);
}

describe("discover: a messy project with experimentalDecorators", () => {
  let p: Scratch;
  let r: DiscoveryResult;
  before(async () => {
    p = scratchProject(MESSY, { experimentalDecorators: true });
    (globalThis as { __idflowProbe?: number[] }).__idflowProbe = [];
    r = await discover({ root: p.root, env: {} });
  });
  after(() => p.cleanup());

  test("loads exactly the good workers, sorted by folder", () => {
    assert.deepEqual(
      r.registrations.map((x) => `${x.name}${x.domain ? `@${x.domain}` : ""}`),
      ["bad_opts_ok", "greet@eu", "greet", "pair_instance", "pair_static@eu"],
    );
  });

  test("decorators ran in experimental mode (target, key, descriptor)", () => {
    assert.deepEqual((globalThis as { __idflowProbe?: number[] }).__idflowProbe, [3]);
  });

  test("a plain function with a helper import works and keeps its options", async () => {
    const g = r.registrations.find((x) => x.name === "greet" && !x.domain)!;
    assert.equal(g.sourceFile, path.join(p.root, "tasks/greet/greet.ts"));
    assert.equal(g.symbol, "greet");
    assert.equal(g.options.concurrency, 2);
    assert.deepEqual(await g.fn({ who: "Ada" }, {} as never), { text: "Hello, Ada!" });
  });

  test("a folder with two workers: instance method bound to one instance, static bound to the class", async () => {
    const inst = r.registrations.find((x) => x.name === "pair_instance")!;
    const stat = r.registrations.find((x) => x.name === "pair_static")!;
    assert.equal(inst.symbol, "Pair.run");
    assert.equal(stat.symbol, "Pair.run2");
    assert.equal(stat.domain, "eu");
    assert.equal(inst.sourceFile, path.join(p.root, "tasks/pair/index.ts"));
    const unbound = inst.fn;
    assert.deepEqual(await unbound({ x: "a" }, {} as never), { out: "inst:a" });
    assert.deepEqual(await stat.fn({ x: "b" }, {} as never), { out: "true:b" });
  });

  test("every broken folder is reported with its file and cause", () => {
    assert.match(
      errorFor(r, "broken_syntax").join(),
      /^tasks\/broken_syntax\/broken_syntax\.ts: failed to load: syntax error at tasks\/broken_syntax\/broken_syntax\.ts:2:\d+: /,
    );
    assert.match(errorFor(r, "throws").join(), /^tasks\/throws\/throws\.ts: failed to load: boom at import \(thrown at tasks\/throws\/throws\.ts:3:\d+\)/);
    assert.match(
      errorFor(r, "missing_dep").join(),
      /^tasks\/missing_dep\/missing_dep\.ts: failed to load: cannot find package "left-pad-not-installed": install it \(npm i left-pad-not-installed\)/,
    );
    assert.match(errorFor(r, "empty").join(), /^tasks\/empty\/empty\.ts registered no worker: mark a function with workerTask/);
    assert.match(errorFor(r, "no_module").join(), /^tasks\/no_module has no task module: expected no_module\.ts or index\.ts/);
    assert.match(
      errorFor(r, "ctor_throws").join(),
      /^tasks\/ctor_throws\/ctor_throws\.ts: workerTask "needy": constructing Needy with no arguments \(to bind Needy\.run\) threw: needs a database/,
    );
  });

  test("a duplicate name+domain is an error naming both files; the first one stays", () => {
    const [msg, ...rest] = errorFor(r, "zz_dup");
    assert.equal(rest.length, 0);
    assert.match(
      msg,
      /^tasks\/zz_dup\/zz_dup\.ts: workerTask "greet" \(again\) is a duplicate: "greet" is already registered by tasks\/greet\/greet\.ts \(greet\)/,
    );
    assert.equal(r.registrations.find((x) => x.name === "greet" && !x.domain)!.sourceFile, path.join(p.root, "tasks/greet/greet.ts"));
    assert.deepEqual(errorFor(r, "dup_domain"), [], "same name in another domain is fine");
  });

  test("invalid options name the file, the worker and the option; the valid worker of the same file loads", () => {
    assert.deepEqual(errorFor(r, "bad_opts"), [
      'tasks/bad_opts/bad_opts.ts: workerTask "bad_retry": retryCount must be an integer >= 0, got -1',
      'tasks/bad_opts/bad_opts.ts: workerTask "bad_timeout": responseTimeoutSeconds (60) must be <= timeoutSeconds (10) when timeoutSeconds > 0',
      'tasks/bad_opts/bad_opts.ts: workerTask "bad_logic": retryLogic must be one of FIXED, LINEAR_BACKOFF, EXPONENTIAL_BACKOFF, got "SOMETIMES"',
    ]);
  });

  test("test files, _folders and .folders are never imported; nothing else is reported", () => {
    const folders = new Set(r.errors.map((e) => path.basename(e.folder)));
    assert.deepEqual([...folders].sort(), ["bad_opts", "broken_syntax", "ctor_throws", "empty", "missing_dep", "no_module", "throws", "zz_dup"]);
    assert.ok(r.errors.every((e) => !/test file|skipped/.test(e.message)));
  });

  test("discovering again in the same process gives the same answer (modules are not re-run nor lost)", async () => {
    const again = await discover({ root: p.root, env: {} });
    assert.deepEqual(
      again.registrations.map((x) => x.name),
      r.registrations.map((x) => x.name),
    );
    assert.deepEqual(
      again.errors.map((e) => e.message),
      r.errors.map((e) => e.message),
    );
  });

  test("CONDUCTOR_WORKER_* overrides are merged in, and a bad value names the variable", async () => {
    const env = {
      CONDUCTOR_WORKER_greet_CONCURRENCY: "7",
      CONDUCTOR_WORKER_ALL_CONCURRENCY: "3",
      CONDUCTOR_WORKER_ALL_POLL_INTERVAL: "250",
      CONDUCTOR_WORKER_PAIR_INSTANCE_DOMAIN: "us",
      CONDUCTOR_WORKER_PAIR_STATIC_PAUSED: "true",
      CONDUCTOR_WORKER_BAD_OPTS_OK_CONCURRENCY: "abc",
    };
    const o = await discover({ root: p.root, env });
    const greet = o.registrations.find((x) => x.name === "greet" && !x.domain)!;
    assert.equal(greet.options.concurrency, 7);
    assert.equal(greet.options.pollIntervalMs, 250);
    assert.deepEqual(greet.envOverrides, { pollIntervalMs: "CONDUCTOR_WORKER_ALL_POLL_INTERVAL", concurrency: "CONDUCTOR_WORKER_greet_CONCURRENCY" });
    const inst = o.registrations.find((x) => x.name === "pair_instance")!;
    assert.equal(inst.domain, "us");
    assert.equal(inst.options.concurrency, 3);
    assert.equal(o.registrations.find((x) => x.name === "pair_static")!.options.paused, true);
    assert.ok(!o.registrations.some((x) => x.name === "bad_opts_ok"));
    assert.ok(
      o.errors.some(
        (e) =>
          e.message === 'tasks/bad_opts/bad_opts.ts: workerTask "bad_opts_ok": CONDUCTOR_WORKER_BAD_OPTS_OK_CONCURRENCY must be an integer >= 1, got "abc"',
      ),
      o.errors.map((e) => e.message).join("\n"),
    );
  });

  test("`idflow worker list --json` reports the same and exits 1", () => {
    const res = spawnSync(process.execPath, [path.join(REPO_ROOT, "cli/bin.js"), "worker", "list", "--root", p.root, "--json"], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(res.status, 1, res.stderr);
    const out = JSON.parse(res.stdout) as {
      workers: Array<{ name: string; sourceFile: string }>;
      errors: Array<{ folder: string; file: string | null; message: string }>;
    };
    assert.equal(out.workers.length, 5);
    assert.equal(out.errors.length, r.errors.length);
    assert.ok(out.errors.some((e) => e.file === "tasks/zz_dup/zz_dup.ts" && e.message.includes("tasks/greet/greet.ts")));
    assert.ok(out.workers.some((w) => w.name === "pair_instance" && w.sourceFile === "tasks/pair/index.ts"));
  });

  test("`idflow worker list` prints the table, then every error, and exits 1", () => {
    const res = spawnSync(process.execPath, [path.join(REPO_ROOT, "cli/bin.js"), "worker", "list", "--root", p.root], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(res.status, 1);
    assert.equal(res.stdout, "");
    assert.match(res.stderr, /^NAME +DOMAIN +CONC +POLL +RETRIES +TIMEOUT\/RESP +SOURCE\n/);
    assert.match(res.stderr, /pair_static +eu +1 +100 ms +3 × 5s +none\/600s +tasks\/pair\/index\.ts \(Pair\.run2\)/);
    assert.match(res.stderr, /10 problem\(s\):/);
    assert.match(res.stderr, /✗ tasks\/throws\/throws\.ts: failed to load: boom at import/);
  });
});

describe("discover: a project without experimentalDecorators (TC39 decorators)", () => {
  let p: Scratch;
  let r: DiscoveryResult;
  before(async () => {
    p = scratchProject({
      "tasks/tc/tc.ts": `
import { workerTask } from "idflow";
import { probe } from "./probe.ts";
export class Counter {
  n = 10;
  @probe
  @workerTask({ name: "tc_instance" })
  async inc(input: { by: number }) { this.n += input.by; return { n: this.n }; }
  @workerTask({ name: "tc_static" })
  static async who() { return { self: this === Counter }; }
}
export const plain = workerTask({ name: "tc_plain" })(async (input: { a: number }) => ({ b: input.a * 2 }));`,
      "tasks/tc/probe.ts": probe,
      "tasks/hidden_class/hidden_class.ts": `
import { workerTask } from "idflow";
class NotExported { @workerTask({ name: "hidden" }) async run() { return {}; } }
export const unused = NotExported.name;`,
    });
    (globalThis as { __idflowProbe?: number[] }).__idflowProbe = [];
    assert.equal(findTsconfig(p.root), false, "the scratch dir must have no tsconfig.json above it");
    r = await discover({ root: p.root, env: {} });
  });
  after(() => p.cleanup());

  test("decorators ran in TC39 mode (value, context)", () => {
    assert.deepEqual((globalThis as { __idflowProbe?: number[] }).__idflowProbe, [2]);
  });

  test("instance (exported class), static and plain-function workers load and bind", async () => {
    // TC39 decorates static members before instance ones, so that is the order of declaration.
    assert.deepEqual(
      r.registrations.map((x) => x.name),
      ["tc_static", "tc_instance", "tc_plain"],
    );
    const [stat, inst, plain] = r.registrations;
    assert.equal(inst.symbol, "Counter.inc");
    assert.deepEqual(await inst.fn({ by: 1 }, {} as never), { n: 11 });
    assert.deepEqual(await inst.fn({ by: 2 }, {} as never), { n: 13 }, "one instance, kept between calls");
    assert.deepEqual(await stat.fn({}, {} as never), { self: true });
    assert.deepEqual(await plain.fn({ a: 21 }, {} as never), { b: 42 });
  });

  test("an instance method of a class that is not exported is an error saying what to do", () => {
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [
        'tasks/hidden_class/hidden_class.ts: workerTask "hidden": cannot find the class of instance method "run": without experimentalDecorators the class must be exported from the task module (or make the method static)',
      ],
    );
  });
});

describe("discover: other project shapes", () => {
  test('a CommonJS-typed project (no "type": "module") and .mjs/.js modules load', async () => {
    const p = scratchProject(
      {
        "tasks/cjs_ts/index.ts": `import { workerTask } from "idflow";\nexport const f = workerTask({ name: "cjs_ts" })(async () => ({ ok: 1 }));\n`,
        "tasks/esm_js/esm_js.mjs": `import { workerTask } from "idflow";\nexport const f = workerTask({ name: "esm_js" })(async () => ({ ok: 2 }));\n`,
      },
      { packageJson: { name: "scratch-cjs", private: true } },
    );
    try {
      const r = await discover({ root: p.root, env: {} });
      assert.deepEqual(r.errors, []);
      assert.deepEqual(
        r.registrations.map((x) => x.name),
        ["cjs_ts", "esm_js"],
      );
      assert.deepEqual(await r.registrations[0].fn({}, {} as never), { ok: 1 });
    } finally {
      p.cleanup();
    }
  });

  test("two candidate modules in one folder is an error; no tasks/ folder is simply empty", async () => {
    const p = scratchProject({
      "tasks/twice/twice.ts": `export {};`,
      "tasks/twice/index.ts": `export {};`,
    });
    try {
      const r = await discover({ root: p.root, env: {} });
      assert.deepEqual(r.registrations, []);
      assert.deepEqual(
        r.errors.map((e) => e.message),
        ["tasks/twice has more than one task module (twice.ts, index.ts): keep one of them, or move the others' code into helpers they import"],
      );
      const empty = await discover({ root: path.join(p.root, "node_modules"), env: {} });
      assert.deepEqual(empty, { registrations: [], errors: [] });
    } finally {
      p.cleanup();
    }
  });

  test('this repository\'s tasks/ load with `import ... from "idflow"` (self-reference)', async () => {
    const r = await discover({ root: REPO_ROOT, env: {} });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.registrations.map((x) => x.name).sort(), [
      "draft_outline",
      "extract_keywords",
      "fetch_url",
      "readability",
      "slugify_title",
      "text_stats",
    ]);
  });
});
