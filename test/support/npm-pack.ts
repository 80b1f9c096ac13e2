/**
 * `npm pack` of a checkout, one at a time per checkout across processes. npm runs the package's
 * prepack (scripts/build.mjs), which deletes and rewrites dist/; two packs of the same checkout at
 * once (the test runner runs two test files in parallel: package-adoption and bench-peers-quick
 * both pack) would have one delete dist/ while the other's npm lists it ("ENOENT: scandir
 * dist/src/server", seen in CI). The lock is a directory under the checkout's node_modules/.cache
 * holding the owner's pid; a lock whose owner is gone is taken over.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface Packed {
  /** The tarball's absolute path (in `destination`). */
  tarball: string;
  size: number;
  unpackedSize: number;
  /** The paths inside the package, e.g. "dist/src/index.js". */
  files: string[];
}

const STALE_MS = 15 * 60_000;
const WAIT_MS = 10 * 60_000;

/** Packs `checkout` into `destination`; a string says why it could not. */
export function npmPack(checkout: string, destination: string, env: NodeJS.ProcessEnv = process.env): Packed | string {
  const release = lock(path.join(checkout, "node_modules/.cache/idflow-npm-pack.lock"));
  if (typeof release === "string") return release;
  try {
    const r = spawnSync("npm", ["pack", "--json", "--pack-destination", destination], { cwd: checkout, env, encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) return `npm pack failed in ${checkout}: ${(r.stderr || r.stdout || String(r.error)).trim().split("\n").slice(-5).join(" | ")}`;
    try {
      const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as Array<{
        filename: string;
        size: number;
        unpackedSize: number;
        files: { path: string }[];
      }>;
      return { tarball: path.join(destination, info!.filename), size: info!.size, unpackedSize: info!.unpackedSize, files: info!.files.map((f) => f.path) };
    } catch {
      return `npm pack in ${checkout} printed no file name: ${r.stdout.slice(0, 300)}`;
    }
  } finally {
    release();
  }
}

/** Takes the lock directory `dir` (waiting while a live process holds it); call the result to release it. */
export function lock(dir: string): (() => void) | string {
  mkdirSync(path.dirname(dir), { recursive: true });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(path.join(dir, "pid"), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (abandoned(dir)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) return `another npm pack of this checkout held ${dir} for over ${WAIT_MS / 60_000} minutes; remove it if no pack is running`;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}

function abandoned(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, "pid"), "utf8"));
  } catch {
    // made but its pid not written yet, or removed meanwhile: old means its owner died in between
    try {
      return Date.now() - statSync(dir).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  try {
    if (Date.now() - statSync(dir).mtimeMs > STALE_MS) return true;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH" || (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}
