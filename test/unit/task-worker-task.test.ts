import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { moduleImporter } from "../../src/discovery/loader.ts";
import { declarationStore, declarationsOf, Registry, withCurrentFile } from "../../src/task/registry.ts";
import { getWorkerTaskOptions, workerTask } from "../../src/task/worker-task.ts";
import type { TaskContext } from "../../src/index.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

test("wrapper: returns the same function, callable directly, with its options as metadata", async () => {
  const fn = async (input: { a: number }, _ctx: TaskContext) => ({ b: input.a + 1 });
  const wrapped = workerTask({ name: "w_plain", retryCount: 1 })(fn);
  assert.equal(wrapped, fn);
  assert.deepEqual(await wrapped({ a: 1 }, {} as TaskContext), { b: 2 });
  assert.deepEqual(getWorkerTaskOptions(fn), { name: "w_plain", retryCount: 1 });
  const loose = declarationStore().loose.at(-1)!;
  assert.equal(loose.method, fn);
  assert.equal(loose.kind, "function");
  assert.match(loose.callSite ?? "", /task-worker-task\.test\.ts:\d+$/);
});

test("experimental shape (target, key, descriptor): instance and static methods", () => {
  class C {
    run() {}
    static srun() {}
  }
  const dec = workerTask({ name: "w_exp" });
  dec(C.prototype, "run", Object.getOwnPropertyDescriptor(C.prototype, "run")!);
  const d = declarationStore().loose.at(-1)!;
  assert.deepEqual([d.kind, d.owner, d.key, d.symbol, d.protocol], ["instance", C, "run", "C.run", "experimental"]);
  assert.deepEqual(getWorkerTaskOptions(C.prototype, "run"), { name: "w_exp" });
  workerTask({ name: "w_exp_static" })(C, "srun", Object.getOwnPropertyDescriptor(C, "srun")!);
  const s = declarationStore().loose.at(-1)!;
  assert.deepEqual([s.kind, s.owner, s.symbol], ["static", C, "C.srun"]);
});

test("TC39 shape (value, context): static methods learn their class from an initializer", () => {
  const inits: Array<(this: unknown) => void> = [];
  const method = function go() {};
  const ctx = { kind: "method", name: "go", static: true, private: false, metadata: {}, addInitializer: (f: () => void) => inits.push(f), access: {} };
  workerTask({ name: "w_tc39" })(method, ctx as unknown as ClassMethodDecoratorContext);
  const d = declarationStore().loose.at(-1)!;
  assert.deepEqual([d.kind, d.protocol, d.owner], ["static", "tc39", undefined]);
  class K {}
  inits[0].call(K);
  assert.equal(d.owner, K);
  assert.equal(d.symbol, "K.go");
});

test("misuse is a TypeError that says what to do", () => {
  assert.throws(
    () => workerTask({ name: "x" })(class {} as never, { kind: "class", name: "X" } as never),
    /workerTask "x": decorate a class method or wrap a function; it was put on a class "X"/,
  );
  assert.throws(() => workerTask({ name: "x" })(() => {}, { kind: "method", name: "#p", private: true, static: false } as never), /is private/);
  assert.throws(() => workerTask({ name: "x" })({}, "field", undefined as never), /"field" is not a method/);
  assert.throws(() => (workerTask({ name: "x" }) as unknown as (v: unknown) => unknown)(42), /not number/);
});

test("the registry is one per process: a second copy of the module (another URL) shares the store", async () => {
  const url = pathToFileURL(path.join(here, "../../src/task/registry.ts")).href;
  const copy = (await import(`${url}?second-copy=1`)) as typeof import("../../src/task/registry.ts");
  assert.notEqual(copy.declarationStore, declarationStore, "really a second module instance");
  assert.equal(copy.declarationStore(), declarationStore());
});

test("idflow loaded through tsx's discovery namespace records into the same store", async () => {
  const importer = moduleImporter(false);
  const index = path.join(here, "../../src/index.ts");
  const fake = path.join(here, "not-a-real-task.ts");
  const api = await withCurrentFile(fake, importer.scope, async () => {
    const mod = (await importer.load(index)) as typeof import("../../src/index.ts");
    assert.notEqual(mod.workerTask, workerTask, "a separate copy of src/index.ts");
    mod.workerTask({ name: "w_namespaced" })(async () => ({}));
    return mod;
  });
  assert.ok(api);
  assert.deepEqual(
    declarationsOf(fake, importer.scope).map((d) => d.options.name),
    ["w_namespaced"],
  );
  assert.equal(declarationsOf(fake, importer.scope)[0].sourceFile, fake);
});

test("Registry: keyed by name and domain; a duplicate returns the holder and is not added", () => {
  const r = new Registry();
  const mk = (name: string, domain?: string, file = "/a.ts") => ({ name, domain, options: { name, domain }, fn: async () => ({}), sourceFile: file });
  assert.equal(r.add(mk("a")), undefined);
  assert.equal(r.add(mk("a", "eu")), undefined);
  const held = r.add(mk("a", undefined, "/b.ts"));
  assert.equal(held?.sourceFile, "/a.ts");
  assert.equal(r.size, 2);
  assert.equal(r.get("a", "eu")?.domain, "eu");
});
