/**
 * idflow as its users run it: the package `npm pack` makes (compiled by tsc into dist/, the
 * same files `npm publish` would ship), unpacked into a scratch project's node_modules/idflow,
 * with the benchmark's task folder copied beside it. Its task imports "idflow" as a user's does,
 * which resolves to the package's dist/, never to this repository's source.
 *
 * The package's own dependencies are this checkout's node_modules (a symlink inside the
 * unpacked package): the versions the lockfile pins, with no network and no install step.
 * Running the source through tsx instead (the repository's cli/bin.js) measures a build no user
 * runs: esbuild's transform of every runtime module, not tsc's (docs/performance.md).
 *
 * One pack per checkout per benchmark process; the scratch folder goes when the process exits.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { npmPack } from "../../test/support/npm-pack.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface PackedIdflow {
  /** The package's bin (node_modules/idflow/cli/bin.js in the scratch project). */
  bin: string;
  /** The scratch project: tasks/ and node_modules/idflow. */
  root: string;
}

const packed = new Map<string, PackedIdflow | string>();
const scratch: string[] = [];
process.once("exit", () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The packed idflow of the checkout at `checkout` (this repository by default), or why it cannot be made. */
export function packIdflow(checkout: string, log: (line: string) => void): PackedIdflow | string {
  const key = path.resolve(checkout);
  let found = packed.get(key);
  if (!found) {
    found = pack(key, log);
    packed.set(key, found);
  }
  return found;
}

function pack(checkout: string, log: (line: string) => void): PackedIdflow | string {
  if (!existsSync(path.join(checkout, "node_modules"))) return `${checkout} has no node_modules: run npm ci there`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "idflow-bench-package-"));
  scratch.push(dir);
  log(`packing idflow from ${checkout} (npm pack: the build users install)`);
  const t0 = Date.now();
  const packed = npmPack(checkout, dir);
  if (typeof packed === "string") return packed;
  const tarball = packed.tarball;
  const project = path.join(dir, "project");
  const pkg = path.join(project, "node_modules/idflow");
  mkdirSync(pkg, { recursive: true });
  const untar = spawnSync("tar", ["-xzf", tarball, "-C", pkg, "--strip-components=1"], { encoding: "utf8" });
  if (untar.status !== 0) return `cannot unpack ${tarball}: ${untar.stderr.trim()}`;
  symlinkSync(path.join(checkout, "node_modules"), path.join(pkg, "node_modules"), "dir");
  writeFileSync(path.join(project, "package.json"), `${JSON.stringify({ name: "idflow-bench-project", private: true, type: "module" }, null, 2)}\n`);
  cpSync(path.join(here, "idflow-project/tasks"), path.join(project, "tasks"), { recursive: true });
  log(`packed idflow in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${pkg}`);
  return { bin: path.join(pkg, "cli/bin.js"), root: project };
}

/**
 * The environment for the packed package: without the source condition this repository's test
 * runner and benchmarks add to NODE_OPTIONS (with it, "idflow" would resolve to src/, which the
 * package does not ship).
 */
export function packageEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const options = (env.NODE_OPTIONS ?? "")
    .split(/\s+/)
    .filter((o) => o && o !== "--conditions=idflow-source")
    .join(" ");
  return { ...env, NODE_OPTIONS: options || undefined };
}
