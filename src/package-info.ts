/**
 * idflow's own package.json (name, version, dependency ranges), found from this file in the
 * repository (src/) and in an installed package (dist/src/) alike.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface PackageInfo {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

let cached: PackageInfo | undefined;

/** idflow's package.json: the nearest one named "idflow" above this file. */
export function idflowPackage(): PackageInfo {
  if (cached) return cached;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as Partial<PackageInfo>;
      if (pkg.name === "idflow") {
        cached = { name: pkg.name, version: pkg.version ?? "0.0.0", dependencies: pkg.dependencies ?? {}, devDependencies: pkg.devDependencies ?? {} };
        return cached;
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`idflow's package.json was not found above ${fileURLToPath(import.meta.url)}: reinstall idflow`);
  }
}
