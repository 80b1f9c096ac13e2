/**
 * `npm run bench`: runs every bench/*.bench.ts in turn (each prints its own table and
 * writes its figures to bench/results/). Pass names to run a subset: npm run bench -- list
 * Everything from the first `--flag` on is handed to the selected benchmarks:
 * npm run bench -- peers --quick
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const firstFlag = argv.findIndex((a) => a.startsWith("--"));
const wanted = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const passed = firstFlag < 0 ? [] : argv.slice(firstFlag);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(", ") || "bench/*.bench.ts"}`);
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  console.error(`\n=== ${f}`);
  // "idflow" in the benches' scratch projects is this repository's source, not dist/ (see package.json "exports").
  const r = spawnSync(process.execPath, ["--conditions=idflow-source", "--import", "tsx", path.join(here, f), ...passed], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
