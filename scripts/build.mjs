#!/usr/bin/env node
// `npm run build` (also run by `npm pack` / `npm publish` through prepack): compile src/** and
// cli/** to dist/ with tsc (tsconfig.build.json), then copy every other file under src/ and cli/
// that the compiled code loads at run time (e.g. src/runtime/thread-boot.mjs) to the same place
// in dist/. cli/bin.js is not copied: it is the package's bin and picks dist/ or the source.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const COMPILED = /\.(?:ts|mts|cts)$/;
const SKIPPED = [/\.test\.[cm]?[jt]s$/, /(?:^|\/)cli\/bin\.js$/];

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const res = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (res.status !== 0) {
  console.error("build: tsc failed (see above); dist/ is incomplete");
  process.exit(res.status ?? 1);
}

// tsc rewrites ".ts" to ".js" in the JavaScript it emits, not in .d.ts files: a consumer's tsc
// would look for dist/src/x.ts. Rewrite relative specifiers there the same way.
const TS_SPECIFIER = /((?:from|import\()\s*["'])(\.\.?\/[^"']*?)\.([mc]?)ts(["'])/g;
for (const rel of readdirSync(dist, { recursive: true }).map(String)) {
  if (!/\.d\.[mc]?ts$/.test(rel)) continue;
  const file = path.join(dist, rel);
  const text = readFileSync(file, "utf8");
  const out = text.replace(TS_SPECIFIER, (_m, head, spec, kind, quote) => `${head}${spec}.${kind}js${quote}`);
  if (out !== text) writeFileSync(file, out);
}

let copied = 0;
for (const dir of ["src", "cli"]) {
  for (const rel of readdirSync(path.join(root, dir), { recursive: true }).map(String)) {
    const file = path.join(dir, rel);
    const posix = file.split(path.sep).join("/");
    if (COMPILED.test(posix) && !/\.d\.[cm]?ts$/.test(posix)) continue;
    if (SKIPPED.some((re) => re.test(posix))) continue;
    const from = path.join(root, file);
    if (/\.[cm]?js$/.test(posix)) {
      // a JavaScript file beside the TypeScript (a worker or child-process entry) that imports
      // "./x.ts": in dist/ that file is "./x.js"
      mkdirSync(path.dirname(path.join(dist, file)), { recursive: true });
      writeFileSync(
        path.join(dist, file),
        readFileSync(from, "utf8").replace(TS_SPECIFIER, (_m, head, spec, kind, quote) => `${head}${spec}.${kind}js${quote}`),
      );
      copied++;
      continue;
    }
    try {
      copyFileSync(from, path.join(dist, file));
    } catch (err) {
      if (err.code === "EISDIR") continue;
      if (err.code !== "ENOENT") throw err;
      mkdirSync(path.dirname(path.join(dist, file)), { recursive: true });
      copyFileSync(from, path.join(dist, file));
    }
    copied++;
  }
}
console.error(`build: dist/ written (tsc, plus ${copied} other file${copied === 1 ? "" : "s"} copied)`);
